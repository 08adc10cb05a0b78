"""Passkeys end to end: Chromium's virtual authenticator (CDP) registers a key on "Mi cuenta"
and then gives the second factor of a login."""

import pytest
from django_otp_webauthn.models import WebAuthnCredential

from core.models import AuditEntry

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_passkey_registration_and_login_with_a_virtual_authenticator(
    visit, staff, settings, live_server
):
    # The live server's origin is the relying party's (http://localhost is a secure context).
    settings.OTP_WEBAUTHN_RP_ID = "localhost"
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [live_server.url]
    assert live_server.url.startswith("http://localhost:")
    user = staff("administrador", username="llavera")
    page = visit.page
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )

    visit.login("llavera")  # password + the TOTP app the fixture enrolled
    visit.goto("/cuenta/", "account")
    page.click("#passkey-register-button")
    page.wait_for_function(
        "() => document.querySelectorAll('#passkeys form[action$=\"/quitar/\"]').length === 1"
    )
    visit.shot("passkey-registered")
    credential = WebAuthnCredential.objects.get(user=user)
    assert credential.confirmed

    page.click("nav button:has-text('Salir')")
    page.wait_for_url("**/login/")
    page.fill("#id_username", "llavera")
    page.fill("#id_password", "contraseña-de-prueba-1")
    page.click("button[type=submit]")
    page.wait_for_url("**/cuenta/verificar/**")
    visit.shot("verify")
    page.click("#passkey-verification-button")
    page.wait_for_url(live_server.url + "/")
    visit.shot("after-passkey")
    assert "Resumen de la instalación" in page.content()

    enrol = AuditEntry.objects.filter(action="staff.second_factor_enrol", actor_user=user)
    assert [e.changes["method"] for e in enrol] == ["webauthn"]
    logins = AuditEntry.objects.filter(action="staff.login", actor_user=user).order_by("id")
    assert [e.changes["method"] for e in logins] == ["totp", "webauthn"]
    assert all(e.client_ip == "127.0.0.1" for e in logins)
