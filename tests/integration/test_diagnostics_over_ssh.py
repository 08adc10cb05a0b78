"""serCen's and vivait-webfon's supervision ports read on the node's loopback through a real
sshd (direct-tcpip channels), shown on the diagnostics page and the API."""

import pytest
from django.test import Client

from core.roles import ROLE_ADMIN, ROLE_OPERATOR
from nodes.diagnostics import node_supervision
from tests.factories import StaffUserFactory
from tests.nodes.supervision_server import SupervisionServer, closed_port, reference
from tests.nodes.test_diagnostics import golden_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def node(ssh_webrtc_node):
    # Nothing is pushed here: no daemon commands.
    return ssh_webrtc_node(
        sercen_restart_command="",
        sercen_status_command="",
        janus_restart_command="",
        janus_status_command="",
        fail2ban_restart_command="",
        fail2ban_status_command="",
    )


def test_both_ports_read_through_ssh(node):
    with (
        SupervisionServer(reference("sercen-status.txt")) as sercen,
        SupervisionServer(reference("webfon-status.txt")) as webfon,
    ):
        node.sercen_supervision_port = sercen.port
        node.webfon_supervision_port = webfon.port
        node.save()
        result = node_supervision(node=node)
        assert result.ok, result
        assert [s.rows for s in result.services] == [
            golden_rows("sercen-status.rows.tsv"),
            golden_rows("webfon-status.rows.tsv"),
        ]
        assert sercen.connections == 1 and webfon.connections == 1

        client = Client()
        client.force_login(StaffUserFactory(role=ROLE_OPERATOR))
        html = client.get(f"/nodos/{node.pk}/diagnostico/").content.decode()
        assert "<td>00.01.04.1</td>" in html and "<code>sipDispMax</code>" in html


def test_closed_port_on_the_node_is_reported(node, client_for):
    with SupervisionServer(reference("sercen-status.txt")) as sercen:
        node.sercen_supervision_port = sercen.port
        node.webfon_supervision_port = closed_port()
        node.save()
        response = client_for(ROLE_ADMIN).get(f"/api/v1/nodes/{node.pk}/diagnostics/")
    assert response.status_code == 200
    data = response.json()
    assert data["error"] == ""
    sercen_status, webfon_status = data["services"]
    assert sercen_status["ok"] and sercen_status["raw"] == reference("sercen-status.txt")
    assert not webfon_status["ok"]
    assert "en el nodo: Connect failed" in webfon_status["error"]


def test_changed_host_key_refuses(node, ssh_server):
    node.ssh_host_key = (
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    )
    node.save()
    result = node_supervision(node=node)
    assert "la clave de host SSH" in result.error
    assert all(not s.rows for s in result.services)


def test_stopped_sshd_is_a_message(node):
    node.ssh_port = closed_port()
    node.save()
    client = Client()
    client.force_login(StaffUserFactory(role=ROLE_ADMIN))
    response = client.get(f"/nodos/{node.pk}/diagnostico/")
    assert response.status_code == 200
    assert "No se pudo conectar con el nodo:" in response.content.decode()


def test_the_ports_are_read_through_sshd_not_directly(node):
    """A node whose sshd forbids forwarding answers nothing, though the port is open here:
    the portal goes through the SSH connection, never straight to the port."""
    from tests.integration.ssh_server import start_ssh_server

    strict = start_ssh_server(forwarding="no")
    try:
        with SupervisionServer(reference("sercen-status.txt")) as sercen:
            node.ssh_port = strict.port
            node.ssh_host_key = strict.host_key
            node.ssh_private_key = strict.private_key
            node.sercen_supervision_port = sercen.port
            node.save()
            result = node_supervision(node=node)
            assert sercen.connections == 0
    finally:
        strict.cleanup()
    assert result.error == ""
    assert "en el nodo: Administratively prohibited" in result.services[0].error
