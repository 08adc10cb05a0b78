"""Re-authentication ("sudo mode") before dangerous actions, and confirmation before the
buttons that act at once."""

import datetime

import pytest
import time_machine
from django.utils import timezone

from core.actors import Actor
from core.models import ApiToken
from core.roles import ROLE_ADMIN, ROLE_OPERATOR
from nodes.models import Push
from portal.services import api_token_create
from tests.factories import (
    STAFF_PASSWORD,
    NodeFactory,
    PortalUserFactory,
    StaffUserFactory,
    WebfonExtensionFactory,
    totp_code,
)
from webfon.models import WebfonSession

pytestmark = pytest.mark.django_db
START = datetime.datetime(2030, 5, 6, 9, 0, tzinfo=datetime.UTC)
SUDO = "/cuenta/confirmar/"


def dangerous_requests(admin):
    """(method, path, data) of every action that asks for a re-authentication."""
    node = NodeFactory()
    extension = WebfonExtensionFactory(node=node)
    other = StaffUserFactory(role=ROLE_ADMIN)
    return [
        ("post", "/tokens/", {"user": admin.pk, "name": "CRM"}),
        ("get", "/nodos/nuevo/", None),
        ("get", f"/nodos/{node.pk}/", None),
        ("post", f"/nodos/{node.pk}/", {"name": "cambiado"}),
        ("post", f"/extensiones/{extension.pk}/clave/", {}),
        ("get", "/ldap/", None),
        ("post", "/ldap/", {"host": "ldap.example"}),
        ("get", f"/cuentas/{other.pk}/restablecer-segundo-factor/", None),
        ("post", f"/cuentas/{other.pk}/restablecer-segundo-factor/", {}),
        ("post", "/cuenta/recuperacion/", {}),
    ]


def asks_to_confirm(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(SUDO + "?next=")


def test_reauthentication_is_asked_after_ten_minutes_and_not_before(client, settings):
    admin = StaffUserFactory(role=ROLE_ADMIN)
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(admin)  # a login counts as a confirmation
        requests = dangerous_requests(admin)
        clock.shift(settings.STAFF_SUDO_SECONDS - 1)
        for method, path, data in requests[:-1]:  # (the last one would reset others' state)
            answer = getattr(client, method)(path, data)
            assert not asks_to_confirm(answer), (method, path)
        clock.shift(2)
        for method, path, data in requests:
            assert asks_to_confirm(getattr(client, method)(path, data)), (method, path)


def test_nothing_is_done_while_the_confirmation_is_stale(client, settings):
    admin = StaffUserFactory(role=ROLE_ADMIN)
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(admin)
        clock.shift(settings.STAFF_SUDO_SECONDS + 1)
        client.post("/tokens/", {"user": admin.pk, "name": "CRM"})
        assert not ApiToken.objects.exists()
        answer = client.post(
            f"/extensiones/{WebfonExtensionFactory().pk}/clave/", HTTP_HX_REQUEST="true"
        )
        # htmx is told to navigate to the confirmation page, not to swap it into the row.
        assert answer.status_code == 204 and answer["HX-Redirect"].startswith(SUDO)


def test_confirming_with_password_and_code_opens_ten_minutes(client, settings):
    admin = StaffUserFactory(role=ROLE_ADMIN)
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(admin)
        clock.shift(settings.STAFF_SUDO_SECONDS + 60)
        page = client.get(SUDO + "?next=/tokens/").content.decode()
        assert 'name="password"' in page and 'name="code"' in page
        # Wrong password, or the password without the code: refused.
        wrong = client.post(
            SUDO, {"password": "mala", "code": totp_code(admin), "next": "/tokens/"}
        )
        assert wrong.status_code == 400 and "no es correcta" in wrong.content.decode()
        no_code = client.post(SUDO, {"password": STAFF_PASSWORD, "next": "/tokens/"})
        assert no_code.status_code == 400
        clock.shift(2)  # django-otp's delay after a wrong code does not apply: none was tried
        done = client.post(
            SUDO, {"password": STAFF_PASSWORD, "code": totp_code(admin), "next": "/tokens/"}
        )
        assert done["Location"] == "/tokens/"
        client.post("/tokens/", {"user": admin.pk, "name": "CRM"})
        assert ApiToken.objects.count() == 1


def test_a_second_factor_alone_does_not_confirm(client, settings):
    admin = StaffUserFactory(role=ROLE_ADMIN)
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(admin)
        clock.shift(settings.STAFF_SUDO_SECONDS + 60)
        client.post("/cuenta/verificar/", {"code": totp_code(admin)})
        assert asks_to_confirm(client.get("/ldap/"))


def test_an_account_without_second_factor_confirms_with_its_password(client, settings):
    settings.STAFF_SECOND_FACTOR_ROLES = []
    admin = StaffUserFactory(role=ROLE_ADMIN, totp=False)
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(admin)
        clock.shift(settings.STAFF_SUDO_SECONDS + 60)
        assert 'name="code"' not in client.get(SUDO).content.decode()
        assert (
            client.post(SUDO, {"password": STAFF_PASSWORD, "next": "/ldap/"})["Location"]
            == "/ldap/"
        )
        assert client.get("/ldap/").status_code == 200


def test_reauthentication_failures_count_toward_the_lockout(client, settings):
    admin = StaffUserFactory(role=ROLE_ADMIN)
    client.force_login(admin)
    for _ in range(settings.STAFF_LOGIN_FAILURE_LIMIT):
        client.post(SUDO, {"password": "mala", "code": "123456"})
    locked = client.post(SUDO, {"password": STAFF_PASSWORD, "code": totp_code(admin)})
    assert "Demasiados intentos" in locked.content.decode()


def test_operators_are_not_asked_for_what_they_cannot_do(client, settings):
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(StaffUserFactory(role=ROLE_OPERATOR))
        clock.shift(settings.STAFF_SUDO_SECONDS + 60)
        node = NodeFactory()
        assert client.get(f"/nodos/{node.pk}/").status_code == 200  # read-only form
        assert client.get("/ldap/").status_code == 200
        assert client.post("/tokens/", {"name": "x"}).status_code == 403


def test_destructive_buttons_ask_first(client, licences):
    admin = StaffUserFactory(role=ROLE_ADMIN)
    client.force_login(admin)
    token, _key = api_token_create(actor=Actor.system("tests"), user=admin, name="CRM")
    page = client.get(f"/tokens/{token.pk}/revocar/").content.decode()
    assert "¿Revocar el token" in page and token.prefix in page
    token.refresh_from_db()
    assert token.revoked_at is None
    client.post(f"/tokens/{token.pk}/revocar/")
    token.refresh_from_db()
    assert token.revoked_at is not None

    node = NodeFactory(kind="webrtc")
    page = client.get(f"/nodos/{node.pk}/enviar/").content.decode()
    assert "¿Escribir ahora la configuración" in page and f"/nodos/{node.pk}/cambios/" in page
    assert not Push.objects.filter(node=node).exists()

    extension = WebfonExtensionFactory()
    session = WebfonSession.objects.create(
        user=PortalUserFactory(account="agente7"),
        token_digest="1" * 64,
        extension_number=extension.number,
        client_ip="203.0.113.7",
        started_at=timezone.now(),
        expires_at=timezone.now() + datetime.timedelta(hours=1),
    )
    page = client.get(f"/webfon/sesiones/{session.pk}/cerrar/").content.decode()
    assert "¿Cerrar ahora la sesión webfon de agente7" in page
    session.refresh_from_db()
    assert session.ended_at is None
    for path in (
        "/tokens/999999/revocar/",
        "/nodos/999999/enviar/",
        "/webfon/sesiones/999999/cerrar/",
    ):
        assert client.get(path).status_code == 404
