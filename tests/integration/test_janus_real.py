"""Real janus (Debian's package) started on loopback with the janus.jcfg and HTTP transport
file the portal renders for a node: it starts, and GET /janus/info shows the node's
server-name and NAT settings; the node's diagnostics read it through a real sshd."""

import pytest
from django.test import Client

from core.roles import ROLE_OPERATOR
from nodes.config_files import janus_config
from nodes.diagnostics import node_supervision
from nodes.models import Node
from nodes.rendering import JanusTransportConfig, render_janus_jcfg, render_janus_transport_http
from tests.factories import StaffUserFactory, WebrtcNodeFactory
from tests.integration.janus_server import (
    janus_folders_jcfg,
    loopback_http_transport_jcfg,
    new_janus_server,
)
from tests.integration.ssh_server import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def janus(tmp_path):
    server = new_janus_server(tmp_path / "janus")
    yield server
    server.stop()


def write_rendered(janus, node) -> str:
    jcfg = render_janus_jcfg(janus_config(node), janus_folders_jcfg(janus.root))
    (janus.conf / "janus.jcfg").write_text(jcfg)
    transport = render_janus_transport_http(
        JanusTransportConfig(cert_pem=node.janus_cert_pem, cert_key=node.janus_cert_key),
        loopback_http_transport_jcfg(janus.http_port),
    )
    (janus.conf / "janus.transport.http.jcfg").write_text(transport)
    return jcfg


@pytest.mark.parametrize(
    ("nat_1_1_mapping", "keep_private_host"), [("192.0.2.10", True), ("2001:db8::10", False)]
)
def test_janus_starts_with_the_rendered_files_and_reports_the_node(
    janus, nat_1_1_mapping, keep_private_host
):
    node = WebrtcNodeFactory(
        domain="meet.example.org",
        nat_1_1_mapping=nat_1_1_mapping,
        nat_keep_private_host=keep_private_host,
        # Nothing answers there: janus must start all the same (ignore_unreachable_ice_server).
        stun_server="127.0.0.1",
        stun_port=free_port(),
        ice_enforce_list="lo",
        janus_rtp_port_min=20100,
        janus_rtp_port_max=20199,
    )
    jcfg = write_rendered(janus, node)
    assert "cert_pem" not in jcfg
    janus.start()
    info = janus.info()
    assert info["janus"] == "server_info"
    assert info["server-name"] == "meet.example.org"
    assert info["public-ip"] == nat_1_1_mapping
    assert set(info["plugins"]) == {"janus.plugin.echotest"}
    assert set(info["transports"]) == {"janus.transport.http"}
    log = janus.log_text()
    assert "RTP port range: 20100 -- 20199" in log
    assert f"Using nat_1_1_mapping for public IP: {nat_1_1_mapping}" in log
    assert ("Going to keep the private host too" in log) is keep_private_host
    assert "Adding 'lo' to the ICE enforce list" in log
    assert "No cert/key specified, autogenerating some" in log


def test_an_empty_certificate_key_stops_janus(janus):
    """Why the keys are removed: the manual's cert_pem = "" is a path to janus 1.x."""
    node = WebrtcNodeFactory(domain="meet.example.org")
    jcfg = write_rendered(janus, node)
    (janus.conf / "janus.jcfg").write_text(
        jcfg + 'certificates: {\n\tcert_pem = ""\n\tcert_key = ""\n}\n'
    )
    with pytest.raises(AssertionError, match="Error opening certificate file"):
        janus.start()


def test_the_diagnostics_read_janus_info_through_ssh_and_highlight_differences(
    janus, ssh_webrtc_node, client_for
):
    node = ssh_webrtc_node(
        domain="meet.example.org", nat_1_1_mapping="192.0.2.10", janus_http_port=janus.http_port
    )
    write_rendered(janus, node)
    janus.start()
    result = node_supervision(node=node)
    assert result.janus.ok, result.janus.error
    rows = {row.key: row for row in result.janus.rows}
    assert rows["server-name"].in_force == rows["server-name"].rendered == "meet.example.org"
    assert rows["public-ip"].in_force == "192.0.2.10" and not rows["public-ip"].differs
    assert rows["version_string"].in_force == janus.info()["version_string"]
    assert rows["transports"].in_force == "janus.transport.http"
    assert result.janus.differences == []

    # Saved in the portal, not yet in force on the node: shown as a difference.
    Node.objects.filter(pk=node.pk).update(nat_1_1_mapping="192.0.2.99")
    client = Client()
    client.force_login(StaffUserFactory(role=ROLE_OPERATOR))
    html = client.get(f"/nodos/{node.pk}/diagnostico/").content.decode()
    section = html[html.index('id="janus-info"') :]
    assert 'id="janus-differences"' in section
    differing = section[section.index('data-differs="1"') :]
    assert "public-ip" in differing[:300] and "192.0.2.99" in differing[:600]
    answer = client_for(ROLE_OPERATOR).get(f"/api/v1/nodes/{node.pk}/diagnostics/").json()
    api_rows = {row["key"]: row for row in answer["janus"]["rows"]}
    assert api_rows["public-ip"] == {
        "key": "public-ip",
        "in_force": "192.0.2.10",
        "rendered": "192.0.2.99",
        "managed": True,
        "differs": True,
    }
    assert not api_rows["server-name"]["differs"]


def test_janus_not_answering_is_said_not_raised(ssh_webrtc_node):
    node = ssh_webrtc_node(janus_http_port=free_port())
    result = node_supervision(node=node)
    assert result.janus is not None and not result.janus.ok
    assert str(node.janus_http_port) in result.janus.error
