"""Lockout of the staff login per (account name, client address)."""

import datetime

import pytest
import time_machine
from django.utils import timezone

from accounts.models import StaffLoginThrottle
from core.models import AuditEntry
from core.roles import ROLE_OPERATOR
from tests.accounts.conftest import live_login, post_login, race
from tests.factories import STAFF_PASSWORD, StaffUserFactory

pytestmark = pytest.mark.django_db
LOCKED = "Demasiados intentos fallidos"
START = datetime.datetime(2030, 3, 4, 9, 0, tzinfo=datetime.UTC)


def logged_in(response) -> bool:
    return response.status_code == 302 and not response["Location"].startswith("/login/")


def test_thirty_wrong_then_right_is_refused_until_the_lockout_ends(
    staff_browser, settings, counting_hasher
):
    StaffUserFactory(username="ana", role=ROLE_OPERATOR)
    browser = staff_browser("192.0.2.10")
    with time_machine.travel(START, tick=False) as clock:
        answers = [post_login(browser, "ana", f"mala-{i}") for i in range(30)]
        assert all(a.status_code == 200 for a in answers)
        # The limit reached the hasher; the rest were refused before it, with the lock message.
        assert counting_hasher.calls == settings.STAFF_LOGIN_FAILURE_LIMIT
        assert all(
            LOCKED in a.content.decode() for a in answers[settings.STAFF_LOGIN_FAILURE_LIMIT :]
        )
        right = post_login(browser, "ana")
        assert LOCKED in right.content.decode() and not logged_in(right)
        assert counting_hasher.calls == settings.STAFF_LOGIN_FAILURE_LIMIT

        clock.shift(settings.STAFF_LOGIN_LOCKOUT_SECONDS - 1)
        assert LOCKED in post_login(browser, "ana").content.decode()
        clock.shift(2)
        assert logged_in(post_login(browser, "ana"))


def test_the_lock_is_per_address_and_the_message_does_not_tell_accounts_apart(
    staff_browser, settings
):
    StaffUserFactory(username="ana", role=ROLE_OPERATOR)
    attacker = staff_browser("192.0.2.66")
    for name in ("ana", "nadie"):
        pages = [
            post_login(attacker, name, "mala").content.decode()
            for _ in range(settings.STAFF_LOGIN_FAILURE_LIMIT + 1)
        ]
        assert LOCKED not in pages[0] and LOCKED in pages[-1]

    # Same answer for an account that exists and one that does not.
    def message(page: str) -> str:
        return page[page.index('class="alert') : page.index("</div>", page.index('class="alert'))]

    last = message(post_login(attacker, "ana", "mala").content.decode())
    other = message(post_login(attacker, "nadie", "mala").content.decode())
    assert LOCKED in last and last == other
    # The owner, from her own address, is not locked out by someone else's failures.
    assert logged_in(post_login(staff_browser("192.0.2.10"), "ana"))


@pytest.mark.parametrize(
    "variants",
    [
        ["ana", "ANA", " ana", "Ana ", "  aNa  "],
        ["\uff21\uff2e\uff21", "ana\t", "AnA"],  # full-width letters, a tab
    ],
)
def test_spellings_of_a_name_share_one_counter(staff_browser, settings, variants):
    StaffUserFactory(username="ana", role=ROLE_OPERATOR)
    browser = staff_browser()
    for i in range(settings.STAFF_LOGIN_FAILURE_LIMIT):
        post_login(browser, variants[i % len(variants)], "mala")
    assert StaffLoginThrottle.objects.get().account == "ana"
    assert LOCKED in post_login(browser, "ana").content.decode()


def test_a_success_forgets_the_failures(staff_browser, settings):
    StaffUserFactory(username="ana", role=ROLE_OPERATOR)
    browser = staff_browser()
    for _ in range(settings.STAFF_LOGIN_FAILURE_LIMIT - 1):
        post_login(browser, "ana", "mala")
    assert logged_in(post_login(browser, "ana"))
    browser.post("/logout/")
    for _ in range(settings.STAFF_LOGIN_FAILURE_LIMIT - 1):
        post_login(browser, "ana", "mala")
    assert logged_in(post_login(browser, "ana"))


def test_the_window_forgets_old_failures(staff_browser, settings):
    StaffUserFactory(username="ana", role=ROLE_OPERATOR)
    browser = staff_browser()
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(settings.STAFF_LOGIN_FAILURE_LIMIT - 1):
            post_login(browser, "ana", "mala")
        clock.shift(settings.STAFF_LOGIN_FAILURE_WINDOW_SECONDS + 1)
        for _ in range(settings.STAFF_LOGIN_FAILURE_LIMIT - 1):
            post_login(browser, "ana", "mala")
        assert logged_in(post_login(browser, "ana"))


def test_the_client_address_is_the_webfon_logins(staff_browser, settings):
    """X-Forwarded-For counts only from a trusted proxy, as for the webfon login."""
    settings.WEBFON_TRUSTED_PROXIES = ["198.51.100.0/24"]
    StaffUserFactory(username="ana", role=ROLE_OPERATOR)
    via_proxy = staff_browser("198.51.100.5")
    spoofing = staff_browser("192.0.2.77")
    post_login(via_proxy, "ana", "mala", HTTP_X_FORWARDED_FOR="203.0.113.9")
    post_login(spoofing, "ana", "mala", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert set(StaffLoginThrottle.objects.values_list("client_ip", flat=True)) == {
        "203.0.113.9",
        "192.0.2.77",
    }
    addresses = AuditEntry.objects.filter(action="staff.login_failed").values_list(
        "client_ip", flat=True
    )
    assert sorted(addresses) == ["192.0.2.77", "203.0.113.9"]


@pytest.mark.mariadb
# serialized_rollback: the flush after it must not recreate the roles (with new ids) for the
# live-server tests that follow, which restore the migrations' rows as they were.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_parallel_wrong_attempts_never_pass_the_limit_to_the_hasher(
    live_server, settings, counting_hasher
):
    StaffUserFactory(username="ana", role=ROLE_OPERATOR)
    counting_hasher.calls = 0
    answers = race(20, lambda _i: live_login(live_server.url, "ana", "mala"))
    assert all(status == 200 for status, _page in answers)
    assert counting_hasher.calls <= settings.STAFF_LOGIN_FAILURE_LIMIT
    assert (
        sum(LOCKED in page for _status, page in answers) >= 20 - settings.STAFF_LOGIN_FAILURE_LIMIT
    )
    # Even the right password now meets the lock.
    status, page = live_login(live_server.url, "ana", STAFF_PASSWORD)
    assert status == 200 and LOCKED in page
    assert AuditEntry.objects.filter(action="staff.lockout").count() == 1


def test_lockout_page_shows_and_clears_a_lock(staff_browser, client, settings):
    StaffUserFactory(username="ana", role=ROLE_OPERATOR)
    attacker = staff_browser("192.0.2.66")
    for _ in range(settings.STAFF_LOGIN_FAILURE_LIMIT):
        post_login(attacker, "ana", "mala")
    admin = StaffUserFactory(username="jefa")
    client.force_login(admin)
    page = client.get("/cuentas/bloqueos/").content.decode()
    assert "192.0.2.66" in page and "Desbloquear" in page
    throttle = StaffLoginThrottle.objects.get()
    assert throttle.locked_until > timezone.now()
    client.post(f"/cuentas/bloqueos/{throttle.pk}/desbloquear/", REMOTE_ADDR="192.0.2.1")
    assert not StaffLoginThrottle.objects.exists()
    assert logged_in(post_login(attacker, "ana"))
    entry = AuditEntry.objects.get(action="staff.lockout_clear")
    assert (entry.actor_user, entry.client_ip, entry.changes["address"]) == (
        admin,
        "192.0.2.1",
        "192.0.2.66",
    )


def test_an_operator_sees_the_locks_but_cannot_clear_them(staff_browser, client, settings):
    attacker = staff_browser("192.0.2.66")
    for _ in range(settings.STAFF_LOGIN_FAILURE_LIMIT):
        post_login(attacker, "nadie", "mala")
    client.force_login(StaffUserFactory(role=ROLE_OPERATOR))
    page = client.get("/cuentas/bloqueos/").content.decode()
    assert "192.0.2.66" in page and "Desbloquear" not in page
    throttle = StaffLoginThrottle.objects.get()
    assert client.post(f"/cuentas/bloqueos/{throttle.pk}/desbloquear/").status_code == 403
    assert StaffLoginThrottle.objects.exists()
