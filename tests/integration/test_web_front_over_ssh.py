"""The web front of a WebRTC node pushed through the real sshd (manual §3.2.4, §3.2.6,
§3.2.7): certificate, key (0600), Apache site, FONBO block and vars.sh written; the site
checked by Debian's apache2ctl -t on the node before Apache reloads (a site it refuses is put
back); and a real Apache serving the pushed certificate, checked with Python's ssl against the
test CA."""

import os
import signal
import socket
import ssl
import stat
import subprocess
import time

import pytest
from cryptography import x509

from nodes.config_files import node_managed_files
from nodes.models import Node, Push
from nodes.push import push_execute
from nodes.rendering.apache import site_values
from nodes.rendering.firewall import exported_values
from nodes.rendering.hosts import fonbo_lines
from nodes.services import node_certificate_upload
from tests.deploy.deployment import APACHE2, apache_confdir
from tests.factories import FIREWALL_SETTINGS
from tests.integration.ssh_server import free_port
from tests.nodes.fake_node import calls, make_fake_node

pytestmark = pytest.mark.django_db
DOMAIN = "webrtc.example.org"

INSTALLER_SITE = """\
# Sitio del nodo, instalado a mano (manual 3.2.4)
<VirtualHost 127.0.0.1:{port}>
    ServerName viejo.example.org
    DocumentRoot /var/www/html
    SSLEngine on
    SSLCertificateFile /etc/ssl/certs/ssl-cert-snakeoil.pem
    SSLCertificateKeyFile /etc/ssl/private/ssl-cert-snakeoil.key
    Header always set X-Frame-Options DENY
</VirtualHost>
"""


def push(node) -> Push:
    queued = Push.objects.create(node=node, reasons=["test"])
    push_execute(push_id=queued.pk, files_for=node_managed_files)
    queued.refresh_from_db()
    return queued


def served_certificate(port: int, ca_file: str) -> x509.Certificate:
    context = ssl.create_default_context(cafile=ca_file)
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as sock,
        context.wrap_socket(sock, server_hostname=DOMAIN) as tls,
    ):
        return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))


def test_the_web_front_over_ssh_checked_by_apache_and_served(ssh_webrtc_node, pki, actor, tmp_path):
    root = make_fake_node(tmp_path / "node")
    port = free_port()
    confdir = apache_confdir(tmp_path / "apache", INSTALLER_SITE.format(port=port), [])
    (confdir / "ports.conf").write_text(f"Listen 127.0.0.1:{port}\n")
    site = confdir / "sites-available" / "portal.conf"
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.html").write_text("webfon\n")
    corporate = Node.objects.create(name="VC-corp-demo", kind="corporate", address="192.0.2.20")
    node = ssh_webrtc_node(
        domain=DOMAIN,
        local_ip="192.0.2.31",
        corporate_node=corporate,
        apache_site_managed=True,
        apache_site_path=str(site),
        document_root=str(www),
        # apache2ctl -t on the node, reading the configuration that enables the site.
        apache_check_command=f"env APACHE_CONFDIR={confdir} /usr/sbin/apache2ctl -t",
        hosts_managed=True,
        **FIREWALL_SETTINGS,
    )
    (root / "etc").mkdir(exist_ok=True)
    (root / "etc/hosts").write_text("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n")
    issued = pki.server(DOMAIN)
    certificate = node_certificate_upload(
        actor=actor,
        node=node,
        certificate_pem=issued.pem,
        private_key_pem=issued.key_pem,
        chain_pem=issued.chain_pem,
        certificate_path=str(tmp_path / "ssl" / f"{DOMAIN}.crt"),
        key_path=str(tmp_path / "ssl" / f"{DOMAIN}.key"),
    )

    done = push(node)
    assert done.status == "applied", done.detail
    key = tmp_path / "ssl" / f"{DOMAIN}.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_text() == certificate.private_key
    values = site_values(site.read_text())
    assert values["servername"] == [DOMAIN]
    assert values["sslcertificatefile"] == [str(tmp_path / "ssl" / f"{DOMAIN}.crt")]
    assert values["/sercen"] == ["http://127.0.0.1:7669/sercen"]
    assert "Header always set X-Frame-Options DENY" in site.read_text()
    assert fonbo_lines((root / "etc/hosts").read_text()) == [
        "192.0.2.20 BDTR BDHIST VC-corp-demo FONBO"
    ]
    assert exported_values((root / "etc/firewall/vars.sh").read_text())["RED_DMZ"] == [
        "192.0.2.192/27"
    ]
    steps = [step["step"] for step in done.steps]
    assert "apache.check" in steps and "check" in steps  # apache2ctl -t and bash -n
    assert calls(root)[-4:] == [
        "apache2 restart",
        "apache2 status",
        "firewall restart",
        "firewall status",
    ]

    # A real Apache with the pushed site serves the pushed certificate and its chain.
    apache = subprocess.Popen(
        ["/bin/sh", "-c", f'. ./envvars && exec {APACHE2} -d "$PWD" -DFOREGROUND'],
        cwd=confdir,
        env={"PATH": os.environ["PATH"], "APACHE_CONFDIR": str(confdir)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text(pki.root.pem)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                served = served_certificate(port, str(ca_file))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        assert served == issued.cert
    finally:
        os.killpg(apache.pid, signal.SIGTERM)
        apache.wait(timeout=20)

    # The installer adds a directive Apache does not know: the next site the push writes is
    # refused by apache2ctl -t, the old site stays and Apache is not reloaded.
    broken = site.read_text().replace(
        "    Header always", "    NoSuchDirective on\n    Header always"
    )
    site.write_text(broken)
    Node.objects.filter(pk=node.pk).update(sercen_http_port=7670)
    reloads = calls(root).count("apache2 restart")
    done = push(Node.objects.get(pk=node.pk))
    assert done.status == "failed"
    assert "apache2ctl -t" in done.detail and "NoSuchDirective" in done.detail
    assert site.read_text() == broken
    assert calls(root).count("apache2 restart") == reloads


def test_a_vars_sh_bash_cannot_parse_is_refused_on_the_node(ssh_webrtc_node, tmp_path):
    """bash -n runs on the uploaded vars.sh before it replaces the live one: a file bash
    cannot parse (an unclosed quote an installer left in a line the portal keeps) is refused
    and nothing restarts."""
    root = make_fake_node(tmp_path / "node")
    node = ssh_webrtc_node(
        domain=DOMAIN,
        local_ip="192.0.2.31",
        corporate_node=Node.objects.create(name="corp", kind="corporate", address="192.0.2.20"),
        **FIREWALL_SETTINGS,
    )
    vars_sh = root / "etc/firewall/vars.sh"
    vars_sh.parent.mkdir(parents=True)
    broken = "#!/bin/bash\nexport NOTA='sin cerrar\nexport ETH_LAN=ens3\n"
    vars_sh.write_text(broken)
    done = push(node)
    assert done.status == "failed", done.detail
    assert "bash -n" in done.detail
    assert vars_sh.read_text() == broken
    assert "firewall restart" not in calls(root)
