"""Second factor of the staff login: TOTP enrolment and login, recovery codes, enforcement
per role, "Mi cuenta", and an administrator resetting another account's devices."""

import datetime
import re

import pyotp
import pytest
import time_machine
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.models import StaffRecoveryCode, StaffTotpDevice
from core.models import AuditEntry
from core.roles import ROLE_ADMIN, ROLE_OPERATOR, ROLE_SALES
from tests.accounts.conftest import post_login
from tests.factories import StaffUserFactory, totp_code

pytestmark = pytest.mark.django_db
ADDRESS = "192.0.2.10"


def enrol_totp(browser) -> str:
    """Enrol an app through "Mi cuenta" like a person: read the secret, type a code."""
    page = browser.post("/cuenta/totp/alta/").content.decode()
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    assert "<svg" in page  # the QR code
    answer = browser.post("/cuenta/totp/confirmar/", {"code": pyotp.TOTP(secret).now()})
    assert answer.status_code == 200, answer.content.decode()[:500]
    return secret


def recovery_codes(page: str) -> list[str]:
    return re.findall(r'class="col recovery-code">([a-z0-9-]+)<', page)


def reaches_dashboard(browser) -> bool:
    return browser.get("/").status_code == 200


def test_totp_enrolment_then_login_with_a_pyotp_code_which_works_once(staff_browser):
    StaffUserFactory(username="ana", role=ROLE_ADMIN, totp=False)
    browser = staff_browser(ADDRESS)
    with time_machine.travel(datetime.datetime(2030, 1, 1, 9, 0, 10, tzinfo=datetime.UTC)) as clock:
        answer = post_login(browser, "ana")
        assert answer["Location"].startswith("/cuenta/")
        secret = enrol_totp(browser)
        assert reaches_dashboard(browser)
        browser.post("/logout/")

        clock.shift(60)
        code = pyotp.TOTP(secret).now()
        assert post_login(browser, "ana")["Location"].startswith("/cuenta/verificar/")
        assert not reaches_dashboard(browser)
        assert browser.post("/cuenta/verificar/", {"code": code})["Location"] == "/"
        assert reaches_dashboard(browser)
        browser.post("/logout/")

        # The same code, in the same 30 s: refused.
        post_login(browser, "ana")
        again = browser.post("/cuenta/verificar/", {"code": code})
        assert again.status_code == 400 and "no es válido o ya se usó" in again.content.decode()
        assert not reaches_dashboard(browser)

    # Wrong codes from any other secret are refused too (a class of inputs, not one).
    device = StaffTotpDevice.objects.get(user__username="ana")
    assert device.secret == secret
    other = pyotp.TOTP(pyotp.random_base32())
    assert not device.verify_token(other.now())


def test_a_wrong_code_makes_the_next_one_wait(staff_browser):
    ana = StaffUserFactory(username="ana")
    browser = staff_browser(ADDRESS)
    with time_machine.travel(datetime.datetime(2030, 1, 1, 9, 0, 10, tzinfo=datetime.UTC)) as clock:
        post_login(browser, "ana")
        browser.post("/cuenta/verificar/", {"code": "000000"})
        refused = browser.post("/cuenta/verificar/", {"code": totp_code(ana)})
        assert "espere" in refused.content.decode()
        clock.shift(2)
        assert browser.post("/cuenta/verificar/", {"code": totp_code(ana)}).status_code == 302


def test_a_recovery_code_works_once(staff_browser):
    StaffUserFactory(username="ana", role=ROLE_ADMIN, totp=False)
    browser = staff_browser(ADDRESS)
    post_login(browser, "ana")
    page = browser.post("/cuenta/recuperacion/").content.decode()
    assert recovery_codes(page) == []  # none before a second factor
    enrol_totp(browser)
    page = browser.post("/cuenta/recuperacion/").content.decode()
    codes = recovery_codes(page)
    assert len(codes) == 10 == len(set(codes))
    assert StaffRecoveryCode.objects.count() == 10
    assert not any(StaffRecoveryCode.objects.filter(digest__contains=c) for c in codes)
    browser.post("/logout/")

    post_login(browser, "ana")
    # Typed with capitals and spaces, as from a printout.
    assert browser.post("/cuenta/verificar/", {"code": f" {codes[3].upper()} "}).status_code == 302
    assert reaches_dashboard(browser)
    browser.post("/logout/")
    with time_machine.travel(datetime.timedelta(seconds=5)):
        post_login(browser, "ana")
        assert browser.post("/cuenta/verificar/", {"code": codes[3]}).status_code == 400
        assert not reaches_dashboard(browser)
    assert StaffRecoveryCode.objects.count() == 9
    entry = AuditEntry.objects.filter(action="staff.login").latest("id")
    assert entry.changes["method"] == "recovery"


def _get_routes(patterns, prefix=""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _get_routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and "<" not in route:
            yield "/" + route


def test_an_administrador_without_second_factor_reaches_only_enrolment(staff_browser):
    StaffUserFactory(username="ana", role=ROLE_ADMIN, totp=False)
    browser = staff_browser(ADDRESS)
    post_login(browser, "ana")
    reached = []
    for path in _get_routes(get_resolver().url_patterns):
        if path.startswith(
            (
                "/cuenta/",
                "/logout/",
                "/i18n/",
                "/api/v1/webfon/log",
                "/csp-report/",
                "/healthz",
                "/metrics",
            )
        ):
            continue
        answer = browser.get(path)
        if path.startswith("/api/"):
            if answer.status_code != 403:
                reached.append((path, answer.status_code))
        elif answer.status_code != 302 or not answer["Location"].startswith("/cuenta/?next="):
            reached.append((path, answer.status_code))
    assert reached == []
    enrolment = browser.get("/cuenta/").content.decode()
    assert 'id="enrol-required"' in enrolment and 'id="menu"' not in enrolment
    # POSTs too, e.g. creating an API token.
    assert browser.post("/tokens/", {"user": 1})["Location"].startswith("/cuenta/")
    assert not AuditEntry.objects.filter(action="api_token.create").exists()
    # Enrolled: everything is open, and the login is recorded (once) with the app.
    enrol_totp(browser)
    assert reaches_dashboard(browser)
    assert browser.get("/nodos/").status_code == 200
    login = AuditEntry.objects.get(action="staff.login")
    assert (login.actor_label, login.client_ip, login.changes["method"]) == ("ana", ADDRESS, "totp")


@pytest.mark.parametrize("role", [ROLE_OPERATOR, ROLE_SALES])
def test_operador_and_ventas_may_log_in_without_a_second_factor(staff_browser, role):
    StaffUserFactory(username="ana", role=role)
    browser = staff_browser(ADDRESS)
    assert post_login(browser, "ana")["Location"] == "/"
    assert reaches_dashboard(browser)
    assert AuditEntry.objects.get(action="staff.login").changes["method"] == "password"


def test_an_operador_who_enrolled_must_give_it(staff_browser):
    ana = StaffUserFactory(username="ana", role=ROLE_OPERATOR, totp=True)
    browser = staff_browser(ADDRESS)
    assert post_login(browser, "ana")["Location"].startswith("/cuenta/verificar/")
    assert browser.get("/cuenta/")["Location"].startswith("/cuenta/verificar/")
    browser.post("/cuenta/verificar/", {"code": totp_code(ana)})
    assert reaches_dashboard(browser)


def test_the_required_roles_are_a_setting(staff_browser, settings):
    settings.STAFF_SECOND_FACTOR_ROLES = ["administrador", "operador"]
    StaffUserFactory(username="ana", role=ROLE_OPERATOR, totp=False)
    browser = staff_browser(ADDRESS)
    assert post_login(browser, "ana")["Location"].startswith("/cuenta/")
    assert not reaches_dashboard(browser)


def test_removing_the_last_app_drops_the_recovery_codes(staff_browser):
    StaffUserFactory(username="ana", role=ROLE_OPERATOR, totp=False)
    browser = staff_browser(ADDRESS)
    post_login(browser, "ana")
    enrol_totp(browser)
    assert StaffRecoveryCode.objects.count() == 10
    device = StaffTotpDevice.objects.get()
    browser.post("/cuenta/dispositivos/quitar/", {"device": device.persistent_id})
    assert not StaffTotpDevice.objects.exists() and not StaffRecoveryCode.objects.exists()
    removed = AuditEntry.objects.get(action="staff.second_factor_remove")
    assert (removed.actor_label, removed.client_ip, removed.changes["method"]) == (
        "ana",
        ADDRESS,
        "totp",
    )


def test_nobody_removes_someone_elses_device(staff_browser, client):
    other = StaffUserFactory()
    client.force_login(StaffUserFactory())
    device = StaffTotpDevice.objects.get(user=other)
    for target in (device.persistent_id, "x/1", "accounts.stafftotpdevice/999999", ""):
        answer = client.post("/cuenta/dispositivos/quitar/", {"device": target}, follow=True)
        assert "no existe en su cuenta" in answer.content.decode()
    assert StaffTotpDevice.objects.filter(pk=device.pk).exists()


def test_an_administrator_resets_anothers_second_factor(staff_browser, client):
    ana = StaffUserFactory(username="ana")
    ana_browser = staff_browser("192.0.2.20")
    post_login(ana_browser, "ana")
    ana_browser.post("/cuenta/verificar/", {"code": totp_code(ana)})
    assert reaches_dashboard(ana_browser)

    jefa = StaffUserFactory(username="jefa")
    client.force_login(jefa)
    page = client.get("/cuentas/").content.decode()
    assert "Restablecer segundo factor" in page
    assert (
        "¿Quitar todas las apps"
        in client.get(f"/cuentas/{ana.pk}/restablecer-segundo-factor/").content.decode()
    )
    client.post(f"/cuentas/{ana.pk}/restablecer-segundo-factor/", REMOTE_ADDR="192.0.2.1")
    assert not StaffTotpDevice.objects.filter(user=ana).exists()
    entry = AuditEntry.objects.get(action="staff.second_factor_reset")
    assert (entry.actor_user, entry.client_ip, entry.object_id, entry.changes["devices"]) == (
        jefa,
        "192.0.2.1",
        str(ana.pk),
        1,
    )
    # Ana's open session must enrol again before anything else.
    assert ana_browser.get("/")["Location"].startswith("/cuenta/?next=")
    # Nobody resets their own from that page, and an operator cannot at all.
    client.post(f"/cuentas/{jefa.pk}/restablecer-segundo-factor/")
    assert StaffTotpDevice.objects.filter(user=jefa).exists()
    operator = staff_browser()
    operator.force_login(StaffUserFactory(role=ROLE_OPERATOR))
    assert operator.post(f"/cuentas/{jefa.pk}/restablecer-segundo-factor/").status_code == 403


def test_session_api_calls_need_the_second_factor_too(staff_browser):
    StaffUserFactory(username="ana")
    browser = staff_browser(ADDRESS)
    post_login(browser, "ana")
    answer = browser.get("/api/v1/users/")
    assert answer.status_code == 403 and "segundo factor" in answer.json()["detail"]
