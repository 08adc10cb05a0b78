"""Second factor of a webfon login: e-mail PIN through a real SMTP server (aiosmtpd on
loopback), TOTP codes with replay protection, exempt networks (manual §5.2.1, §7.6)."""

import datetime
import time

import pyotp
import pytest
from django.utils import timezone

from core.actors import Actor
from tests.factories import ExemptNetworkFactory, WebrtcNodeFactory
from tests.webfon.smtp_server import start_smtp_server
from users.models import PortalUser
from users.services import portal_user_totp_begin, portal_user_totp_confirm
from webfon.models import LoginChallenge, WebfonPolicy, WebfonSession

pytestmark = pytest.mark.django_db
PIN = "/api/v1/webfon/login/pin/"


@pytest.fixture
def smtp(db):
    controller, mailbox = start_smtp_server()
    WebrtcNodeFactory(smtp_host="127.0.0.1", smtp_port=controller.port)
    yield mailbox
    controller.stop()


@pytest.fixture
def email_user(make_user):
    return make_user(second_factor=PortalUser.SecondFactor.EMAIL, email="agente@aytoarga.es")


def _pin_step(webfon_client, challenge, pin, **extra):
    return webfon_client.post(PIN, {"challenge": challenge, "pin": pin}, **extra)


def test_email_pin_arrives_and_logs_in(login, webfon_client, email_user, smtp):
    first = login(email_user.account).json()
    assert first["status"] == "pin_required" and first["method"] == "email"
    assert not WebfonSession.objects.exists()  # nothing held while the PIN is pending
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert message["To"] == "agente@aytoarga.es"
    pin = smtp.last_pin()
    assert len(pin) == 6 and pin not in str(LoginChallenge.objects.values().get())
    answer = _pin_step(webfon_client, first["challenge"], pin)
    assert answer.status_code == 200 and answer.json()["status"] == "ok"
    assert answer.json()["mobility_extension"] == email_user.webfon_extension.number
    # One-time: the same PIN and challenge do not work twice.
    reused = _pin_step(webfon_client, first["challenge"], pin)
    assert (reused.status_code, reused.json()["reason"]) == (401, "challenge_invalid")


def test_a_pending_pin_holds_no_pool_member(login, webfon_client, make_user, pool_of, smtp):
    pool = pool_of(1)
    waiting = make_user(pool=pool, second_factor="email", email="espera@aytoarga.es")
    other = make_user(pool=pool)
    challenge = login(waiting.account).json()["challenge"]
    # The PIN is never entered: the only member stays free for somebody else.
    assert login(other.account).status_code == 200
    late = _pin_step(webfon_client, challenge, smtp.last_pin())
    assert (late.status_code, late.json()["reason"]) == (409, "pool_full")


def test_wrong_pin_then_right_pin(login, webfon_client, email_user, smtp, auth_log):
    challenge = login(email_user.account).json()["challenge"]
    pin = smtp.last_pin()
    wrong = _pin_step(webfon_client, challenge, "000000" if pin != "000000" else "111111")
    assert (wrong.status_code, wrong.json()["reason"]) == (401, "bad_pin")
    assert wrong.json()["attempts_left"] == 4
    assert "TRUCO_KO [203.0.113.7] bad_pin_email" in auth_log.read_text()
    assert _pin_step(webfon_client, challenge, pin).status_code == 200


def test_expired_pin(login, webfon_client, email_user, smtp):
    challenge = login(email_user.account).json()["challenge"]
    LoginChallenge.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    answer = _pin_step(webfon_client, challenge, smtp.last_pin())
    assert (answer.status_code, answer.json()["reason"]) == (401, "challenge_invalid")
    assert not WebfonSession.objects.exists()


def test_pin_attempt_limit_holds_even_for_the_right_pin(login, webfon_client, email_user, smtp):
    WebfonPolicy.objects.update(pin_max_attempts=3)
    challenge = login(email_user.account).json()["challenge"]
    pin = smtp.last_pin()
    wrong = "000000" if pin != "000000" else "111111"
    lefts = [
        _pin_step(webfon_client, challenge, wrong).json().get("attempts_left") for _ in range(3)
    ]
    assert lefts == [2, 1, 0]
    assert _pin_step(webfon_client, challenge, pin).json()["reason"] == "challenge_invalid"
    assert not WebfonSession.objects.exists()


def test_a_new_login_voids_the_previous_pin(login, webfon_client, email_user, smtp):
    first = login(email_user.account).json()["challenge"]
    first_pin = smtp.last_pin()
    second = login(email_user.account).json()["challenge"]
    assert _pin_step(webfon_client, first, first_pin).json()["reason"] == "challenge_invalid"
    assert _pin_step(webfon_client, second, smtp.last_pin()).status_code == 200


def test_challenge_belongs_to_the_address_that_started_it(login, webfon_client, email_user, smtp):
    challenge = login(email_user.account).json()["challenge"]
    other = _pin_step(webfon_client, challenge, smtp.last_pin(), REMOTE_ADDR="198.51.100.1")
    assert other.json()["reason"] == "challenge_invalid"


def test_smtp_down_is_a_clear_refusal(login, email_user, db):
    WebrtcNodeFactory(smtp_host="127.0.0.1", smtp_port=1)  # nothing listens there
    answer = login(email_user.account)
    assert (answer.status_code, answer.json()["reason"]) == (409, "second_factor_unavailable")
    assert not LoginChallenge.objects.filter(consumed_at__isnull=True).exists()


def test_exempt_network_skips_the_second_factor(login, email_user, smtp):
    ExemptNetworkFactory(network="172.25.0.0/16")
    inside = login(email_user.account, REMOTE_ADDR="172.25.1.20")
    assert inside.json()["status"] == "ok"
    assert smtp.messages == []
    outside = login(email_user.account, REMOTE_ADDR="172.26.1.20")
    assert outside.json()["status"] == "pin_required"
    # A client cannot claim the exempt network through a header.
    spoofed = login(email_user.account, HTTP_X_FORWARDED_FOR="172.25.1.20")
    assert spoofed.json()["status"] == "pin_required"


# --- TOTP ---------------------------------------------------------------------------------
@pytest.fixture
def totp_user(make_user):
    user = make_user()
    actor = Actor.system("tests")
    uri = portal_user_totp_begin(actor=actor, user=user)
    secret = pyotp.parse_uri(uri).secret
    # Enrol with the code of the previous step, so the current one is still unused.
    portal_user_totp_confirm(actor=actor, user=user, code=pyotp.TOTP(secret).at(time.time() - 30))
    user.refresh_from_db()
    user.second_factor = PortalUser.SecondFactor.TOTP
    user.save(update_fields=["second_factor"])
    return user, pyotp.TOTP(secret)


def test_totp_right_code(login, webfon_client, totp_user):
    user, totp = totp_user
    first = login(user.account).json()
    assert first == {"status": "pin_required", "challenge": first["challenge"], "method": "totp"}
    answer = _pin_step(webfon_client, first["challenge"], totp.now())
    assert answer.json()["status"] == "ok"


def test_totp_wrong_code(login, webfon_client, totp_user):
    user, totp = totp_user
    challenge = login(user.account).json()["challenge"]
    wrong = str((int(totp.now()) + 1) % 1_000_000).zfill(6)
    assert _pin_step(webfon_client, challenge, wrong).json()["reason"] == "bad_pin"


def test_totp_code_cannot_be_reused(login, webfon_client, totp_user):
    user, totp = totp_user
    user.max_sessions = 3
    user.save(update_fields=["max_sessions"])
    code = totp.now()
    assert (
        _pin_step(webfon_client, login(user.account).json()["challenge"], code).status_code == 200
    )
    again = _pin_step(webfon_client, login(user.account).json()["challenge"], code)
    assert again.json()["reason"] == "bad_pin"


def test_totp_older_step_after_a_newer_one_is_refused(login, webfon_client, totp_user):
    user, totp = totp_user
    user.max_sessions = 3
    user.save(update_fields=["max_sessions"])
    now = time.time()
    newer, older = totp.at(now + 30), totp.at(now)
    assert (
        _pin_step(webfon_client, login(user.account).json()["challenge"], newer).status_code == 200
    )
    assert (
        _pin_step(webfon_client, login(user.account).json()["challenge"], older).json()["reason"]
        == "bad_pin"
    )


def test_totp_enrolment_code_cannot_log_in(login, webfon_client, make_user):
    user = make_user()
    actor = Actor.system("tests")
    secret = pyotp.parse_uri(portal_user_totp_begin(actor=actor, user=user)).secret
    code = pyotp.TOTP(secret).now()
    portal_user_totp_confirm(actor=actor, user=user, code=code)
    PortalUser.objects.filter(pk=user.pk).update(second_factor="totp")
    challenge = login(user.account).json()["challenge"]
    assert _pin_step(webfon_client, challenge, code).json()["reason"] == "bad_pin"


def test_wrong_pins_count_against_the_account(login, webfon_client, email_user, smtp):
    """A fresh password login must not bring a fresh set of PIN guesses for ever."""
    WebfonPolicy.objects.update(account_max_failures=4, pin_max_attempts=3)
    for _ in range(2):
        challenge = login(email_user.account).json()["challenge"]
        pin = smtp.last_pin()
        wrong = "000000" if pin != "000000" else "111111"
        answers = [_pin_step(webfon_client, challenge, wrong).json() for _ in range(3)]
        assert all(a["reason"] in ("bad_pin", "challenge_invalid") for a in answers)
    locked = login(email_user.account)
    assert (locked.status_code, locked.json()["reason"]) == (403, "locked")
