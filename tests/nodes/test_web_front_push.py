"""Pushing the web front of a WebRTC node (manual §3.2.4, §3.2.6, §3.2.7) to a local fake
node: the certificate and its key (0600), the Apache site, the FONBO block and vars.sh, each
only when handed over; Apache reloaded and the firewall restarted only when theirs change;
the key never in a diff."""

import stat

import pytest
from cryptography import x509

from nodes.config_files import node_managed_files
from nodes.models import Node, NodeCertificate, Push
from nodes.push import push_execute, push_preview
from nodes.rendering.apache import site_values
from nodes.rendering.firewall import exported_values
from nodes.rendering.hosts import fonbo_lines
from nodes.services import node_certificate_upload, node_certificate_use_node, node_update
from tests.factories import FIREWALL_SETTINGS
from tests.nodes.fake_node import calls

pytestmark = pytest.mark.django_db
DOMAIN = "webrtc.example.org"


def push(node) -> str:
    queued = Push.objects.filter(node=node, status="pending").first() or Push.objects.create(
        node=node, reasons=["test"]
    )
    return push_execute(push_id=queued.pk, files_for=node_managed_files)


@pytest.fixture
def root(tmp_path):
    return tmp_path / "node"


def test_nothing_of_the_web_front_is_written_unless_handed_over(web_node, root):
    assert push(web_node) == "applied"
    assert not (root / "etc/apache2").exists() and not (root / "etc/hosts").exists()
    assert not any("apache2" in c or "firewall" in c for c in calls(root))


def test_the_whole_web_front_is_written_and_its_daemons_restarted(
    web_node, pki, actor, root, store_certificate
):
    issued = pki.server(DOMAIN)
    node_certificate_upload(
        actor=actor,
        node=web_node,
        certificate_pem=issued.pem,
        private_key_pem=issued.key_pem,
        chain_pem=issued.chain_pem,
    )
    node_update(
        actor=actor,
        node=web_node,
        apache_site_managed=True,
        hosts_managed=True,
        **FIREWALL_SETTINGS,
    )
    Node.objects.filter(pk=web_node.corporate_node_id).update(address="192.0.2.20")
    (root / "etc").mkdir(exist_ok=True)
    (root / "etc/hosts").write_text("127.0.0.1\tlocalhost\n")
    assert push(web_node) == "applied"

    certificate = root / f"etc/apache2/ssl/{DOMAIN}.crt"
    key = root / f"etc/apache2/ssl/{DOMAIN}.key"
    assert x509.load_pem_x509_certificates(certificate.read_bytes()) == [
        issued.cert,
        pki.inter.cert,
    ]
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(certificate.stat().st_mode) == 0o644
    site = (root / f"etc/apache2/sites-available/{DOMAIN}.conf").read_text()
    assert site_values(site)["sslcertificatekeyfile"] == [f"/etc/apache2/ssl/{DOMAIN}.key"]
    assert site_values(site)["/janus"] == ["http://127.0.0.1:8088/janus"]
    hosts = (root / "etc/hosts").read_text()
    assert hosts.startswith("127.0.0.1\tlocalhost\n")
    assert fonbo_lines(hosts) == ["192.0.2.20 BDTR BDHIST VC-corp-zonaejemplo FONBO"]
    assert exported_values((root / "etc/firewall/vars.sh").read_text())["IP_DMZ"] == ["192.0.2.200"]
    made = calls(root)
    assert made.index("apache2 reload") > made.index("janus restart")
    # Apache after the daemons it proxies, the firewall last (it has no status command).
    assert made[-3:] == ["apache2 reload", "apache2 status", "firewall restart"]
    # The diff of the push shows the key changed and nothing of it.
    diff = Push.objects.filter(node=web_node).latest("pk").diff
    assert f"{DOMAIN}.key" in diff
    for line in issued.key_pem.splitlines()[1:-1]:
        assert line not in diff

    # Nothing changed: nothing restarted.
    before = len(calls(root))
    assert push(web_node) == "unchanged"
    assert len(calls(root)) == before

    # A new certificate: Apache reloads, the firewall does not restart.
    renewed = pki.server(DOMAIN)
    store_certificate(web_node, renewed)
    assert push(web_node) == "applied"
    added = calls(root)[before:]
    assert "apache2 reload" in added and "firewall restart" not in added
    assert key.read_text() == NodeCertificate.objects.get(node=web_node).private_key
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_a_certbot_node_gets_its_site_pointing_at_certbots_files_and_no_key(web_node, actor, root):
    node_certificate_use_node(actor=actor, node=web_node)
    node_update(actor=actor, node=web_node, apache_site_managed=True)
    assert push(web_node) == "applied"
    site = (root / f"etc/apache2/sites-available/{DOMAIN}.conf").read_text()
    assert site_values(site)["sslcertificatefile"] == [
        f"/etc/letsencrypt/live/{DOMAIN}/fullchain.pem"
    ]
    assert not (root / "etc/apache2/ssl").exists()


def test_the_preview_masks_the_key_and_writes_nothing(
    web_node, pki, actor, root, store_certificate
):
    issued = pki.server(DOMAIN)
    store_certificate(web_node, issued)
    previews = {p.path: p for p in push_preview(node=web_node, files_for=node_managed_files)}
    key_preview = previews[f"/etc/apache2/ssl/{DOMAIN}.key"]
    text = str(vars(key_preview))
    for line in issued.key_pem.splitlines()[1:-1]:
        assert line not in text
    assert not (root / "etc/apache2").exists()
