"""General > Configurar LDAP in the browser, against a real slapd."""

import pytest
from django.test import Client

from core.roles import ROLE_OPERATOR, ROLE_SALES
from users.models import LdapSettings

pytestmark = pytest.mark.django_db


def form_data(server, **extra):
    return {
        "server_uri": server.uri,
        "base_dn": server.base_dn,
        "bind_dn": server.bind_dn,
        "bind_password": server.bind_password,
        "user_filter": "(sAMAccountName={login})",
        "timeout": "3",
        **extra,
    }


def test_probar_conexion_shows_the_answer_and_saves_nothing(ldap_server, browser_for):
    client = browser_for()
    response = client.post("/ldap/", form_data(ldap_server, test_account="vivait", test="1"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Conexión correcta" in page and "vivait@aytoarga.es" in page
    assert ldap_server.bind_password not in page
    assert LdapSettings.objects.get().server_uri == ""


def test_probar_conexion_with_a_wrong_password(ldap_server, browser_for):
    page = (
        browser_for()
        .post(
            "/ldap/", form_data(ldap_server, bind_password="mala", test_account="vivait", test="1")
        )
        .content.decode()
    )
    assert "cuenta de servicio" in page and "La prueba no tuvo éxito" in page


def test_save_keeps_the_password_when_left_empty(ldap_server, browser_for):
    client = browser_for()
    assert client.post("/ldap/", form_data(ldap_server, save="1")).status_code == 302
    row = LdapSettings.objects.get()
    assert row.server_uri == ldap_server.uri and row.bind_password == ldap_server.bind_password
    assert (
        client.post("/ldap/", form_data(ldap_server, bind_password="", save="1")).status_code == 302
    )
    assert LdapSettings.objects.get().bind_password == ldap_server.bind_password
    page = client.get("/ldap/").content.decode()
    assert (
        ldap_server.bind_password not in page and "Hay una contraseña de servicio guardada" in page
    )


def test_refusal_next_to_the_field(ldap_server, browser_for):
    response = browser_for().post("/ldap/", form_data(ldap_server, user_filter="(uid=x)", save="1"))
    assert response.status_code == 400
    assert 'id="id_user_filter_error"' in response.content.decode()
    assert LdapSettings.objects.get().user_filter == "(sAMAccountName={login})"


def test_roles(browser_for):
    operator = browser_for(ROLE_OPERATOR)
    assert operator.get("/ldap/").status_code == 200
    assert operator.post("/ldap/", {"server_uri": "ldap://x", "save": "1"}).status_code == 403
    assert browser_for(ROLE_SALES).get("/ldap/").status_code == 403
    assert Client().get("/ldap/").status_code == 302
