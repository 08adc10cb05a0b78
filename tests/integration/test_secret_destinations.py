"""A stored secret reaches only the destination it was entered for (issue #12, point 3),
against real servers that log every connection: slapd (its "stats" log) and OpenSSH's sshd
(LogLevel VERBOSE). After a change of destination, through the API, the pages and the
services, the new destination sees no connection at all until the secret is entered again;
entering it with the new destination in one save works."""

import time

import pytest

from nodes.models import Node, Push
from nodes.push import ManagedFile, push_execute
from nodes.services import node_update
from tests.factories import PortalUserFactory, WebfonExtensionFactory
from tests.integration.ldap_server import ROOT_DN, ROOT_PASSWORD, start_ldap_server
from tests.integration.ssh_server import start_ssh_server
from tests.nodes.fake_node import make_fake_node
from users.ldap import ldap_find_user
from users.selectors import ldap_settings_get
from users.services import ldap_settings_update, portal_user_set_password

pytestmark = pytest.mark.django_db

AGAIN = "vuelva a introducir para el nuevo destino"


def settle(*servers) -> list[int]:
    """Connections each server has logged, once what is in flight is written."""
    time.sleep(0.3)
    return [server.connections() for server in servers]


# --- LDAP: the service account's password ------------------------------------------------------


@pytest.fixture(scope="module")
def slapd():
    """Where the password was entered for."""
    server = start_ldap_server(log=True)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def slapd_other_host(slapd):
    """The same directory (the stored password would work there) on another host, same port."""
    server = start_ldap_server(host="127.0.0.2", port=int(slapd.uri.rsplit(":", 1)[1]), log=True)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def slapd_other_port():
    server = start_ldap_server(log=True)
    yield server
    server.stop()


def port(server) -> int:
    return int(server.uri.rsplit(":", 1)[1])


# variant -> (the changed settings, the server that must see nothing, whether re-entering the
# password with the change then works: an ldaps:// URI to a plain-LDAP server cannot)
LDAP_VARIANTS = {
    "host": lambda s, h, p: ({"server_uri": h.uri}, h, True),
    "port": lambda s, h, p: ({"server_uri": p.uri}, p, True),
    "scheme ldap→ldaps": lambda s, h, p: ({"server_uri": f"ldaps://127.0.0.1:{port(s)}"}, s, False),
    "bind DN": lambda s, h, p: ({"bind_dn": ROOT_DN}, s, True),
}


@pytest.fixture
def ldap_variant(request, slapd, slapd_other_host, slapd_other_port, actor):
    ldap_settings_update(
        actor=actor,
        server_uri=slapd.uri,
        base_dn=slapd.base_dn,
        bind_dn=slapd.bind_dn,
        bind_password=slapd.bind_password,
        user_filter="(sAMAccountName={login})",
        timeout=3,
    )
    assert ldap_find_user(settings=ldap_settings_get(), account="vivait").ok
    change, watched, works = LDAP_VARIANTS[request.param](slapd, slapd_other_host, slapd_other_port)
    password = ROOT_PASSWORD if "bind_dn" in change else slapd.bind_password
    return change, watched, works, password


pytest_ldap_variants = pytest.mark.parametrize("ldap_variant", list(LDAP_VARIANTS), indirect=True)


@pytest_ldap_variants
def test_ldap_test_api_does_not_send_the_stored_password_elsewhere(ldap_variant, api):
    change, watched, works, password = ldap_variant
    (before,) = settle(watched)
    answer = api.post("/api/v1/ldap/test/", {"account": "vivait", **change}, format="json")
    assert answer.status_code == 200
    assert answer.json()["ok"] is False and AGAIN in answer.json()["message"]
    assert settle(watched) == [before]
    # Sent with the request, the password is for the new destination.
    answer = api.post(
        "/api/v1/ldap/test/",
        {"account": "vivait", **change, "bind_password": password},
        format="json",
    )
    assert answer.json()["ok"] is works, answer.json()
    assert settle(watched)[0] > before


@pytest_ldap_variants
def test_ldap_test_page_does_not_send_the_stored_password_elsewhere(
    ldap_variant, slapd, browser_for
):
    change, watched, _works, _password = ldap_variant
    (before,) = settle(watched)
    form = {
        "server_uri": slapd.uri,
        "base_dn": slapd.base_dn,
        "bind_dn": slapd.bind_dn,
        "bind_password": "",
        "user_filter": "(sAMAccountName={login})",
        "timeout": "3",
        "test_account": "vivait",
        "test": "1",
        **change,
    }
    page = browser_for().post("/ldap/", form)
    assert page.status_code == 200 and AGAIN in page.content.decode()
    assert settle(watched) == [before]


@pytest_ldap_variants
def test_saved_ldap_change_keeps_the_password_until_entered_again(
    ldap_variant, api, actor, licences, browser_for
):
    change, watched, works, password = ldap_variant
    user = PortalUserFactory(
        account="vivait", validation="ldap", webfon_extension=WebfonExtensionFactory()
    )
    portal_user_set_password(actor=actor, user=user, password="Clave-Portal-9")
    (before,) = settle(watched)
    saved = api.patch("/api/v1/ldap/", change, format="json")
    assert saved.status_code == 200
    assert AGAIN in saved.json()["secret_warnings"]["bind_password"]
    # The services that use it: the lookup and the webfon login.
    lookup = ldap_find_user(settings=ldap_settings_get(), account="vivait")
    assert lookup.reason == "secret_unavailable" and AGAIN in lookup.message
    from rest_framework.test import APIClient

    login = APIClient(REMOTE_ADDR="203.0.113.50").post(
        "/api/v1/webfon/login/", {"account": "vivait", "password": "Clave-LDAP-1"}
    )
    assert (login.status_code, login.json()["reason"]) == (401, "bad_credentials")
    page = browser_for().get("/ldap/").content.decode()
    assert AGAIN in page
    assert settle(watched) == [before]
    # Entered again in the same save as the change: used from now on.
    again = api.patch("/api/v1/ldap/", {**change, "bind_password": password}, format="json")
    assert again.status_code == 200 and again.json()["secret_warnings"] == {}
    assert ldap_find_user(settings=ldap_settings_get(), account="vivait").ok is works
    assert settle(watched)[0] > before


def test_ldap_form_saves_the_new_server_and_password_together(
    slapd, slapd_other_port, actor, browser_for
):
    ldap_settings_update(
        actor=actor,
        server_uri=slapd.uri,
        base_dn=slapd.base_dn,
        bind_dn=slapd.bind_dn,
        bind_password="otra-clave-de-antes",
    )
    form = {
        "server_uri": slapd_other_port.uri,
        "base_dn": slapd.base_dn,
        "bind_dn": slapd.bind_dn,
        "user_filter": "(sAMAccountName={login})",
        "timeout": "3",
        "save": "1",
    }
    client = browser_for()
    saved = client.post("/ldap/", {**form, "bind_password": ""}, follow=True)
    assert AGAIN in saved.content.decode()  # the warning after the save, and on the form
    saved = client.post("/ldap/", {**form, "bind_password": slapd.bind_password}, follow=True)
    assert AGAIN not in saved.content.decode()
    assert ldap_find_user(settings=ldap_settings_get(), account="vivait").ok


# --- SSH: the node's key and password ---------------------------------------------------------


@pytest.fixture(scope="module")
def sshd():
    server = start_ssh_server(log=True)
    yield server
    server.cleanup()


@pytest.fixture(scope="module")
def sshd_other_host(sshd):
    server = start_ssh_server(host="127.0.0.2", port=sshd.port, log=True)
    yield server
    server.cleanup()


@pytest.fixture(scope="module")
def sshd_other_port():
    server = start_ssh_server(log=True)
    yield server
    server.cleanup()


# variant -> (the changed settings, the server that must see nothing, the key it accepts)
SSH_VARIANTS = {
    "host": lambda s, h, p: ({"ssh_host": "127.0.0.2"}, h, h.private_key),
    "port": lambda s, h, p: ({"ssh_port": p.port}, p, p.private_key),
    "user": lambda s, h, p: ({"ssh_user": "nobody"}, s, None),
}


@pytest.fixture
def ssh_variant(request, sshd, sshd_other_host, sshd_other_port, make_webrtc_node, tmp_path):
    root = make_fake_node(tmp_path / "node")
    node = make_webrtc_node(
        address="127.0.0.1",
        ssh_port=sshd.port,
        ssh_user=sshd.user,
        ssh_private_key=sshd.private_key,
        ssh_password="ssh-clave-que-no-sale",
        ssh_host_key=sshd.host_key,
        janus_jcfg_path=f"{root}/etc/janus/janus.jcfg",
        janus_restart_command=f"{root}/etc/init.d/janus restart",
        janus_status_command=f"{root}/etc/init.d/janus status",
    )
    assert run_push(node).status == "applied"
    change, watched, key = SSH_VARIANTS[request.param](sshd, sshd_other_host, sshd_other_port)
    # The pinned host key is cleared too, as a careless operator would: trust on first use
    # must not be what lets the secrets go.
    return node, {**change, "ssh_host_key": ""}, watched, key


def run_push(node: Node) -> Push:
    push = Push.objects.create(node=node, reasons=["test"])
    files = [
        ManagedFile(node.janus_jcfg_path, "janus", lambda _old: f"v = {push.pk};\n"),
    ]
    push_execute(push_id=push.pk, files_for=lambda _node: files)
    push.refresh_from_db()
    return push


pytest_ssh_variants = pytest.mark.parametrize("ssh_variant", list(SSH_VARIANTS), indirect=True)


@pytest_ssh_variants
def test_service_push_after_a_change_of_ssh_destination_sends_nothing(ssh_variant, actor):
    node, change, watched, key = ssh_variant
    (before,) = settle(watched)
    moved = node_update(actor=actor, node=node, **change)
    push = run_push(moved)
    assert push.status == "failed" and AGAIN in push.detail
    assert "Clave privada SSH" in push.detail
    assert settle(watched) == [before]
    assert Node.objects.get(pk=node.pk).ssh_host_key == ""  # nothing trusted on first use
    if key is None:
        return  # the user variant: that account does not exist on the server
    moved = node_update(actor=actor, node=moved, ssh_private_key=key, ssh_password="nueva")
    assert run_push(moved).status == "applied"
    assert settle(watched)[0] > before
    assert Node.objects.get(pk=node.pk).ssh_host_key == watched.host_key


@pytest_ssh_variants
def test_api_push_and_preview_after_a_change_of_ssh_destination_send_nothing(ssh_variant, api):
    node, change, watched, key = ssh_variant
    (before,) = settle(watched)
    answer = api.patch(f"/api/v1/nodes/{node.pk}/", change, format="json")
    assert answer.status_code == 200
    warnings = answer.json()["secret_warnings"]
    assert set(warnings) == {"ssh_password", "ssh_private_key"}
    assert all(AGAIN in message for message in warnings.values())
    preview = api.get(f"/api/v1/nodes/{node.pk}/preview/").json()
    assert preview["ok"] is False and AGAIN in preview["error"]
    queued = api.post(f"/api/v1/nodes/{node.pk}/push/")
    assert queued.status_code == 202
    push = run_push(Node.objects.get(pk=node.pk))
    assert push.status == "failed" and AGAIN in push.detail
    assert settle(watched) == [before]
    if key is None:
        return
    answer = api.patch(
        f"/api/v1/nodes/{node.pk}/", {**change, "ssh_private_key": key}, format="json"
    )
    assert set(answer.json()["secret_warnings"]) == {"ssh_password"}
    # The password, not entered again, is not sent either: the push waits for it.
    assert run_push(Node.objects.get(pk=node.pk)).status == "failed"
    assert settle(watched) == [before]
    api.patch(f"/api/v1/nodes/{node.pk}/", {"ssh_password": "nueva"}, format="json")
    assert run_push(Node.objects.get(pk=node.pk)).status == "applied"
    assert settle(watched)[0] > before


@pytest_ssh_variants
def test_node_form_and_aplicar_after_a_change_of_ssh_destination_send_nothing(
    ssh_variant, node_form_data, browser_for
):
    node, change, watched, key = ssh_variant
    (before,) = settle(watched)
    client = browser_for()
    data = node_form_data(node, **change)
    saved = client.post(f"/nodos/{node.pk}/", data, follow=True)
    assert saved.status_code == 200 and AGAIN in saved.content.decode()
    assert client.get(f"/nodos/{node.pk}/").content.decode().count(AGAIN) >= 2
    assert AGAIN in client.get(f"/nodos/{node.pk}/cambios/").content.decode()
    client.post(f"/nodos/{node.pk}/enviar/")
    push = run_push(Node.objects.get(pk=node.pk))
    assert push.status == "failed" and AGAIN in push.detail
    assert settle(watched) == [before]
    if key is None:
        return
    data = node_form_data(node, **change, ssh_private_key=key, ssh_password="nueva")
    saved = client.post(f"/nodos/{node.pk}/", data, follow=True)
    assert AGAIN not in saved.content.decode()
    assert run_push(Node.objects.get(pk=node.pk)).status == "applied"
    assert settle(watched)[0] > before
