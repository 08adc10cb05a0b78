"""Webfon login with validation "ldap" and "both" against a real slapd (manual §5.2.1,
§7.6.1: the LDAP and portal passwords may differ)."""

import pytest

from tests.factories import PortalUserFactory, WebfonExtensionFactory
from tests.integration.ldap_server import free_port
from users.models import PortalUser
from users.services import ldap_settings_update, portal_user_set_password

pytestmark = pytest.mark.django_db
LOGIN = "/api/v1/webfon/login/"
PORTAL_PASSWORD = "Clave-Portal-9"


@pytest.fixture
def configured(configure_ldap):
    return configure_ldap()


@pytest.fixture
def webfon_user(licences, actor):
    def _make(account: str, validation: str) -> PortalUser:
        user = PortalUserFactory(
            account=account, validation=validation, webfon_extension=WebfonExtensionFactory()
        )
        portal_user_set_password(actor=actor, user=user, password=PORTAL_PASSWORD)
        return user

    return _make


@pytest.fixture
def login():
    from rest_framework.test import APIClient

    client = APIClient(REMOTE_ADDR="203.0.113.50")

    def _login(account: str, password: str):
        return client.post(LOGIN, {"account": account, "password": password})

    return _login


def test_ldap_right_password_of_a_user_in_a_nested_ou(configured, webfon_user, login, ldap_server):
    webfon_user("vivait", "ldap")
    response = login("vivait", ldap_server.users["vivait"].password)
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_ldap_user_directly_under_the_base(configured, webfon_user, login, ldap_server):
    webfon_user("agente1", "ldap")
    assert login("agente1", ldap_server.users["agente1"].password).status_code == 200


def test_ldap_wrong_empty_and_portal_password(configured, webfon_user, login, auth_log):
    webfon_user("vivait", "ldap")
    answers = [login("vivait", "incorrecta"), login("vivait", ""), login("vivait", PORTAL_PASSWORD)]
    assert {a.status_code for a in answers} == {401}
    assert {a.json()["reason"] for a in answers} == {"bad_credentials"}
    log = auth_log.read_text()
    assert log.count("ldap_bad_password") == 2 and "empty_password" in log


def test_ldap_unknown_user_answers_like_a_wrong_password(configured, webfon_user, login, auth_log):
    # A portal user the directory does not know, and an account nobody knows.
    webfon_user("fantasma", "ldap")
    unknown_in_ldap = login("fantasma", "loquesea")
    wrong = login("nadie", "loquesea")
    assert unknown_in_ldap.content == wrong.content
    assert unknown_in_ldap.status_code == 401
    log = auth_log.read_text()
    assert "ldap_unknown_account" in log and "unknown_account cuenta=nadie" in log


def test_account_with_filter_characters_is_escaped(configured, login, licences, ldap_server):
    # Unescaped, the filter (sAMAccountName=*)(...) would find some entry and bind as it.
    for account in ("*", "*)(sAMAccountName=*", "vivait)(|(sAMAccountName=*"):
        assert login(account, ldap_server.users["vivait"].password).json()["reason"] == (
            "bad_credentials"
        )


def test_both_accepts_either_password(configured, webfon_user, login, ldap_server):
    user = webfon_user("vivait", "both")
    user.max_sessions = 3
    user.save(update_fields=["max_sessions"])
    assert login("vivait", PORTAL_PASSWORD).status_code == 200
    assert login("vivait", ldap_server.users["vivait"].password).status_code == 200
    assert login("vivait", "ninguna").json()["reason"] == "bad_credentials"
    assert login("vivait", "").json()["reason"] == "bad_credentials"


def test_ldap_down_is_bad_credentials_quickly(actor, webfon_user, login, auth_log):
    import time

    ldap_settings_update(
        actor=actor,
        server_uri=f"ldap://127.0.0.1:{free_port()}",
        base_dn="DC=aytoarga,DC=es",
        bind_dn="CN=portal,DC=aytoarga,DC=es",
        bind_password="x",
        user_filter="(sAMAccountName={login})",
        timeout=2,
    )
    webfon_user("vivait", "ldap")
    both = webfon_user("agente1", "both")
    started = time.monotonic()
    down = login("vivait", "Clave-LDAP-1")
    assert time.monotonic() - started < 10
    assert down.status_code == 401 and down.json()["reason"] == "bad_credentials"
    assert down.content == login("nadie", "x").content
    assert "ldap_unreachable" in auth_log.read_text()
    # "both" still lets the portal password in while LDAP is down.
    assert login(both.account, PORTAL_PASSWORD).status_code == 200
