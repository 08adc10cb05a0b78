"""Key loss and rotation: a database written under one key and read under another.

Rows whose secrets no longer decrypt load, every page and answer says "secreto ilegible:
vuelva a introducirlo", nothing is sent with them, a new value can be entered (and saving
other fields keeps the old ciphertext), ``manage.py check`` warns, and ``manage.py
rotate_field_key`` re-encrypts everything under the first key so that the new key alone
reads it."""

import base64
import io
import os

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from core.actors import Actor
from core.roles import ROLE_ADMIN
from extensions.models import Extension
from nodes.models import Node, Push
from nodes.push import push_execute
from tests.factories import PhysicalExtensionFactory, PortalUserFactory
from users.models import LdapSettings, PortalUser
from users.selectors import ldap_settings_get
from users.services import ldap_settings_update

pytestmark = pytest.mark.django_db

UNREADABLE = "secreto ilegible: vuelva a introducirlo"
SECRETS = {
    "ssh_password": "ssh-clave-1",
    "smtp_password": "smtp-clave-2",
    "mysql_password": "mysql-clave-3",
}


def new_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


@pytest.fixture
def stored(settings, corporate, tmp_path):
    """Rows with every kind of secret, written under SECRET_KEY alone (no field key)."""
    settings.FIELD_ENCRYPTION_KEY = ""
    settings.SECRET_KEY = "clave-de-django-original-" * 3
    actor = Actor.system("tests")
    node = Node.objects.create(
        name="meet",
        kind="webrtc",
        domain="meet.example",
        local_ip="192.0.2.31",
        corporate_node=corporate,
        transport="ssh",
        address="192.0.2.31",
        ssh_host_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJtq0Kk3b3q2l8yX8m4Rk1iC0b0dJ8K9k0m6u4o1Q2a",
        smtp_host="smtp.example",
        smtp_user="pins@example.org",
        **SECRETS,
    )
    extension = PhysicalExtensionFactory(node=corporate, registration_secret="sip-registro-12345")
    ldap_settings_update(
        actor=actor,
        server_uri="ldap://ldap.example",
        base_dn="DC=example",
        bind_dn="CN=portal,DC=example",
        bind_password="ldap-clave-4",
    )
    user = PortalUserFactory(totp_secret="JBSWY3DPEHPK3PXP")
    return {"node": node, "extension": extension, "user": user, "root": tmp_path}


def raw(model, pk, name) -> str:
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(model._meta.get_field(name).column)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


def lose_the_key(settings) -> None:
    """SECRET_KEY changed and no FIELD_ENCRYPTION_KEY keeps the old one readable."""
    settings.SECRET_KEY = "otra-clave-de-django-nueva-" * 3


def check_output() -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("check", stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


# --- a lost key ---------------------------------------------------------------------------------


def test_rows_load_and_say_which_secret_is_unreadable(stored, settings, client_for, browser_for):
    lose_the_key(settings)
    node, extension = stored["node"], stored["extension"]
    node.refresh_from_db()
    assert node.ssh_password == "" and node.secret_warnings() == {
        "ssh_password": f"Contraseña SSH: {UNREADABLE}.",
        "mysql_password": f"Contraseña MySQL: {UNREADABLE}.",
        "smtp_password": f"Contraseña SMTP: {UNREADABLE}.",
    }
    web = browser_for()
    pages = [
        "/nodos/",
        f"/nodos/{node.pk}/",
        f"/nodos/{node.pk}/diagnostico/",
        f"/nodos/{node.pk}/cambios/",
        "/extensiones/",
        f"/extensiones/{extension.pk}/",
        "/ldap/",
        "/usuarios/",
        f"/usuarios/{stored['user'].pk}/",
    ]
    for url in pages:
        response = web.get(url)
        assert response.status_code == 200, url
    assert UNREADABLE in web.get(f"/nodos/{node.pk}/").content.decode()
    assert UNREADABLE in web.get("/ldap/").content.decode()
    assert UNREADABLE in web.get(f"/nodos/{node.pk}/cambios/").content.decode()
    # A TOTP seed that no longer decrypts: the user's page says so where TOTP is managed.
    user_page = web.get(f"/usuarios/{stored['user'].pk}/").content.decode()
    assert f"Secreto TOTP: {UNREADABLE}." in user_page
    assert "vuelva a dar de alta" in user_page.lower()
    revealed = web.post(f"/extensiones/{extension.pk}/clave/")
    assert revealed.status_code == 200 and UNREADABLE in revealed.content.decode()

    api = client_for(ROLE_ADMIN)
    for url in [
        "/api/v1/nodes/",
        f"/api/v1/nodes/{node.pk}/",
        "/api/v1/extensions/",
        f"/api/v1/extensions/{extension.pk}/",
        "/api/v1/ldap/",
        f"/api/v1/users/{stored['user'].pk}/",
        f"/api/v1/nodes/{node.pk}/preview/",
    ]:
        assert api.get(url).status_code == 200, url
    assert set(api.get(f"/api/v1/nodes/{node.pk}/").json()["secret_warnings"]) == set(SECRETS)
    assert api.get("/api/v1/ldap/").json()["secret_warnings"] == {
        "bind_password": f"Contraseña de la cuenta de servicio: {UNREADABLE}."
    }
    assert api.get(f"/api/v1/users/{stored['user'].pk}/").json()["secret_warnings"] == {
        "totp_secret": f"Secreto TOTP: {UNREADABLE}."
    }
    secret = api.get(f"/api/v1/extensions/{extension.pk}/secret/").json()
    assert secret == {"registration_secret": "", "warning": UNREADABLE}


def test_an_unreadable_secret_is_never_sent(stored, settings):
    lose_the_key(settings)
    push = Push.objects.create(node=stored["node"], reasons=["test"])
    from nodes.config_files import node_managed_files

    push_execute(push_id=push.pk, files_for=node_managed_files)
    push.refresh_from_db()
    assert push.status == "failed" and UNREADABLE in push.detail
    from users.ldap import ldap_find_user

    lookup = ldap_find_user(settings=ldap_settings_get(), account="ana")
    assert not lookup.ok and lookup.reason == "secret_unavailable" and UNREADABLE in lookup.message


def test_saving_other_fields_keeps_the_ciphertext_and_a_new_value_replaces_it(
    stored, settings, client_for, browser_for
):
    node, extension = stored["node"], stored["extension"]
    before = raw(Node, node.pk, "ssh_password")
    lose_the_key(settings)
    api = client_for(ROLE_ADMIN)
    # Another field changes; the unreadable secret stays as stored (the old key may return).
    answer = api.patch(f"/api/v1/nodes/{node.pk}/", {"description": "otra"}, format="json")
    assert answer.status_code == 200, answer.json()
    assert raw(Node, node.pk, "ssh_password") == before
    # The form too, with the secret left empty.
    page = browser_for().get(f"/nodos/{node.pk}/")
    assert page.status_code == 200
    extension_form = browser_for().post(
        f"/extensiones/{extension.pk}/",
        {"number": extension.number, "kind": "physical", "node": extension.node_id}
        | {"site": "Sede nueva", "department": "General", "registration_secret": ""},
    )
    assert extension_form.status_code == 302, extension_form.content.decode()[-2000:]
    assert Extension.objects.get(pk=extension.pk).site == "Sede nueva"

    # New values are accepted everywhere and read back.
    answer = api.patch(
        f"/api/v1/nodes/{node.pk}/",
        {"ssh_password": "nueva-ssh", "smtp_password": "nueva-smtp"},
        format="json",
    )
    assert answer.status_code == 200 and set(answer.json()["secret_warnings"]) == {"mysql_password"}
    node.refresh_from_db()
    assert node.ssh_password == "nueva-ssh" and node.smtp_password == "nueva-smtp"
    answer = api.patch("/api/v1/ldap/", {"bind_password": "nueva-ldap"}, format="json")
    assert answer.status_code == 200 and answer.json()["secret_warnings"] == {}
    assert LdapSettings.objects.get().bind_password == "nueva-ldap"
    browser_for().post(
        f"/extensiones/{extension.pk}/",
        {"number": extension.number, "kind": "physical", "node": extension.node_id}
        | {"site": "Sede nueva", "department": "General", "registration_secret": "x" * 16},
    )
    assert Extension.objects.get(pk=extension.pk).registration_secret == "x" * 16


def test_check_warns_when_stored_secrets_do_not_decrypt(stored, settings):
    assert "portal.W101" not in check_output()
    lose_the_key(settings)
    output = check_output()
    assert "portal.W101" in output
    assert (
        "nodes.Node.ssh_password: 1" in output and "users.LdapSettings.bind_password: 1" in output
    )
    assert "extensions.Extension.registration_secret: 1" in output
    assert "users.PortalUser.totp_secret: 1" in output


# --- rotation -----------------------------------------------------------------------------------


def test_rotate_field_key_re_encrypts_so_the_new_key_alone_reads_everything(stored, settings):
    node, extension, user = stored["node"], stored["extension"], stored["user"]
    old_ciphertext = raw(Node, node.pk, "ssh_password")
    key = new_key()
    settings.FIELD_ENCRYPTION_KEY = key  # the new key alone: nothing reads yet
    lose_the_key(settings)
    assert Node.objects.get(pk=node.pk).secret_warnings()
    settings.SECRET_KEY = "clave-de-django-original-" * 3  # the old key back, after the new one
    assert "portal.I102" in check_output()  # under an older key: rotate says the hint

    out = io.StringIO()
    call_command("rotate_field_key", stdout=out)
    assert "nodes.Node.ssh_password: 1 vueltos a cifrar" in out.getvalue()
    assert raw(Node, node.pk, "ssh_password") != old_ciphertext
    again = io.StringIO()
    call_command("rotate_field_key", stdout=again)
    assert "nodes.Node.ssh_password: 0 vueltos a cifrar, 1 ya con la primera clave" in (
        again.getvalue()
    )

    settings.FIELD_ENCRYPTION_KEY = key
    lose_the_key(settings)  # only the new key reads now
    node = Node.objects.get(pk=node.pk)
    assert {name: getattr(node, name) for name in SECRETS} == SECRETS
    assert node.secret_warnings() == {}
    assert Extension.objects.get(pk=extension.pk).registration_secret == "sip-registro-12345"
    assert LdapSettings.objects.get().bind_password == "ldap-clave-4"
    assert PortalUser.objects.get(pk=user.pk).totp_secret == "JBSWY3DPEHPK3PXP"
    output = check_output()
    assert "portal.W101" not in output and "portal.I102" not in output


def test_rotate_leaves_unreadable_secrets_and_says_so(stored, settings):
    settings.FIELD_ENCRYPTION_KEY = new_key()
    lose_the_key(settings)  # no key opens the stored secrets any more
    out = io.StringIO()
    with pytest.raises(CommandError, match="no se pudieron descifrar"):
        call_command("rotate_field_key", stdout=out)
    assert (
        "nodes.Node.ssh_password: 0 vueltos a cifrar, 0 ya con la primera clave, 1 ilegibles"
        in (out.getvalue())
    )


def test_rotate_needs_a_field_key(stored, settings):
    settings.FIELD_ENCRYPTION_KEY = ""
    with pytest.raises(CommandError, match="FIELD_ENCRYPTION_KEY no está definida"):
        call_command("rotate_field_key")
