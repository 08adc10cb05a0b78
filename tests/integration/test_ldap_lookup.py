"""Configurar LDAP > Probar conexión, against a real slapd."""

import pytest

from tests.integration.ldap_server import free_port
from users.models import LdapSettings
from users.services import ldap_settings_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def configured(ldap_server, actor):
    return ldap_settings_update(
        actor=actor,
        server_uri=ldap_server.uri,
        base_dn=ldap_server.base_dn,
        bind_dn=ldap_server.bind_dn,
        bind_password=ldap_server.bind_password,
        user_filter="(sAMAccountName={login})",
        timeout=3,
    )


def test_finds_a_user_in_a_nested_ou(api, configured, ldap_server):
    response = api.post("/api/v1/ldap/test/", {"account": "vivait"})
    assert response.status_code == 200
    assert response.data["ok"] and response.data["bound"]
    assert response.data["dn"].lower() == ldap_server.users["vivait"].dn.lower()
    assert response.data["attributes"]["mail"] == ["vivait@aytoarga.es"]


def test_unknown_account(api, configured):
    data = api.post("/api/v1/ldap/test/", {"account": "nadie"}).data
    assert not data["ok"] and data["bound"]
    assert "nadie" in data["message"]


def test_filter_input_is_escaped(api, configured):
    # Unescaped, "*)(sAMAccountName=*" would match every account.
    data = api.post("/api/v1/ldap/test/", {"account": "*)(sAMAccountName=*"}).data
    assert not data["ok"]
    assert "\\2a\\29\\28" in data["message"]
    data = api.post("/api/v1/ldap/test/", {"account": "raro*)(uid=*"}).data
    assert data["ok"] and data["dn"].lower().startswith("cn=raro")


def test_wrong_service_password_is_reported(api, configured):
    data = api.post("/api/v1/ldap/test/", {"account": "vivait", "bind_password": "incorrecta"}).data
    assert not data["ok"] and not data["bound"]
    assert "cuenta de servicio" in data["message"]
    assert "incorrecta" not in str(data)


def test_unsaved_values_are_tried_but_not_saved(api, configured, ldap_server):
    data = api.post(
        "/api/v1/ldap/test/",
        {"account": "agente1", "user_filter": "(&(objectClass=person)(sAMAccountName={login}))"},
    ).data
    assert data["ok"]
    assert LdapSettings.objects.get().user_filter == "(sAMAccountName={login})"


def test_bad_unsaved_values_are_400(api, configured):
    response = api.post("/api/v1/ldap/test/", {"account": "vivait", "user_filter": "(uid=x)"})
    assert response.status_code == 400 and "user_filter" in response.data


def test_ldap_down_answers_quickly_with_a_message(api, configured):
    uri = f"ldap://127.0.0.1:{free_port()}"
    data = api.post(
        "/api/v1/ldap/test/", {"account": "vivait", "server_uri": uri, "timeout": 2}
    ).data
    assert not data["ok"]
    assert uri in data["message"]


def test_only_administrators_may_test(client_for, configured):
    assert (
        client_for("operador").post("/api/v1/ldap/test/", {"account": "vivait"}).status_code == 403
    )
