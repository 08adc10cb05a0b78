"""The WebRTC node's web front files (manual §3.2.4, §3.2.6, §3.2.7): the Apache site, the
FONBO block of /etc/hosts and the firewall's vars.sh — the manual's files as golden
references, the installer's own lines kept byte for byte, and the site accepted by Debian's
``apache2ctl -t``."""

import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nodes.rendering.apache import (
    ApacheSiteConfig,
    ApacheSiteError,
    render_apache_site,
    site_values,
)
from nodes.rendering.firewall import FirewallVars, exported_values, render_firewall_vars
from nodes.rendering.hosts import BEGIN, END, HostsConfig, fonbo_lines, render_hosts
from tests.deploy.deployment import apache2ctl, apache_confdir

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"

MANUAL_SITE = ApacheSiteConfig(
    server_name="labmeet2.mdnova.local",
    document_root="/var/www/vivait",
    certificate_file="/etc/apache2/ssl/labmeet2.mdnova.local.crt",
    key_file="/etc/apache2/ssl/labmeet2.mdnova.local.key",
    sercen_url="http://127.0.0.1:7669/sercen",
    janus_url="http://127.0.0.1:8088/janus",
    fonbo_url="http://FONBO:8180/Vivait-FonBO",
)
DEMO_SITE = ApacheSiteConfig(
    server_name="webrtc.example.org",
    document_root="/var/www/vivait",
    certificate_file="/etc/apache2/ssl/webrtc.example.org.crt",
    key_file="/etc/apache2/ssl/webrtc.example.org.key",
    sercen_url="http://127.0.0.1:7670/sercen",
    janus_url="http://127.0.0.1:8089/janus",
    fonbo_url="http://FONBO:8180/Vivait-FonBO",
)
MANUAL_VARS = FirewallVars(
    eth_lan="ens3",
    ip_lan="172.25.128.253",
    red_lan="172.25.0.0/23",
    eth_dmz="ens7",
    ip_dmz="89.140.51.149",
    red_dmz="89.140.51.144/29",
)
DEMO_VARS = FirewallVars(
    eth_lan="eth0",
    ip_lan="192.0.2.10",
    red_lan="192.0.2.0/25",
    eth_dmz="eth1",
    ip_dmz="192.0.2.200",
    red_dmz="192.0.2.192/27",
)


# --- the manual's files ---------------------------------------------------------------------


def test_a_new_site_is_the_manuals():
    assert render_apache_site(MANUAL_SITE) == (REFERENCE / "apache-site.conf").read_text()


def test_a_new_vars_sh_is_the_manuals():
    assert render_firewall_vars(MANUAL_VARS) == (REFERENCE / "firewall-vars.sh").read_text()


def test_the_hosts_line_is_the_manuals():
    manual = HostsConfig(corporate_address="10.133.133.10", corporate_name="VC-corp-zonaejemplo")
    assert fonbo_lines(render_hosts(manual, "")) == [
        (REFERENCE / "hosts.fragment").read_text().strip()
    ]


# --- the Apache site --------------------------------------------------------------------------


def test_rendering_the_manuals_site_again_changes_nothing():
    site = render_apache_site(MANUAL_SITE)
    assert render_apache_site(MANUAL_SITE, site) == site


def test_a_change_touches_only_the_managed_lines():
    before = render_apache_site(MANUAL_SITE).splitlines()
    after = render_apache_site(DEMO_SITE, "\n".join(before) + "\n").splitlines()
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert [b.split()[0] for _, b in changed] == [
        "ServerName",
        "SSLCertificateFile",
        "SSLCertificateKeyFile",
        "ProxyPass",
        "ProxyPass",
    ]
    assert "        SSLCertificateFile    /etc/apache2/ssl/webrtc.example.org.crt" in after


INSTALLER_SITE = """\
# Sitio del nodo (instalado a mano)
<VirtualHost *:80>
    ServerName otro.example.org
    ProxyPass "/janus" "http://192.0.2.99:1/janus"
    Redirect permanent / https://webrtc.example.org/
</VirtualHost>
<IfModule mod_ssl.c>
\t<VirtualHost *:443>
\t\tservername viejo.example.org
\t\tSSLEngine on
\t\tSSLCertificateChainFile /etc/apache2/ssl/cadena.crt
\t\tProxyPass /janus http://127.0.0.1:8088/janus retry=0
\t\t<Location /privado>
\t\t\tRequire all denied
\t\t\tProxyPass "http://192.0.2.98/sercen"
\t\t</Location>
\t\t# ProxyPass "/sercen" "comentado"
\t\tHeader always set X-Frame-Options DENY
\t</VirtualHost>
</IfModule>
"""


def test_an_installers_site_keeps_everything_else():
    rendered = render_apache_site(DEMO_SITE, INSTALLER_SITE)
    lines = rendered.splitlines()
    # The managed values, where they were, with the installer's indentation and spelling.
    assert "\t\tservername webrtc.example.org" in lines
    assert '\t\tProxyPass "/janus" "http://127.0.0.1:8089/janus"' in lines
    # Added: what was missing, inside the TLS virtual host, indented like it.
    for added in (
        "\t\tDocumentRoot /var/www/vivait",
        "\t\tSSLCertificateFile /etc/apache2/ssl/webrtc.example.org.crt",
        '\t\tProxyPass "/sercen" "http://127.0.0.1:7670/sercen"',
        '\t\tProxyPass "/Vivait-FonBO" "http://FONBO:8180/Vivait-FonBO"',
    ):
        assert lines.index(added) < lines.index("\t</VirtualHost>")
    # The chain is in the certificate file now.
    assert "\t\t#SSLCertificateChainFile /etc/apache2/ssl/cadena.crt" in lines
    # Untouched: the port-80 host, the nested block, comments, other directives.
    for kept in INSTALLER_SITE.splitlines():
        if kept.strip().split(" ")[0] in ("servername", "SSLCertificateChainFile") or (
            kept.startswith("\t\tProxyPass /janus")
        ):
            continue
        assert kept in lines
    assert site_values(rendered)["/sercen"] == ["http://127.0.0.1:7670/sercen"]


def test_crlf_sites_stay_crlf():
    rendered = render_apache_site(DEMO_SITE, INSTALLER_SITE.replace("\n", "\r\n"))
    assert "\n" not in rendered.replace("\r\n", "")


def test_a_file_without_a_virtual_host_is_not_a_site():
    with pytest.raises(ApacheSiteError):
        render_apache_site(DEMO_SITE, "# solo comentarios\nListen 443\n")


@pytest.mark.parametrize(
    "field, value",
    [
        ("server_name", "a b.example.org"),
        ("document_root", '/var/www/"x"'),
        ("certificate_file", "/etc/x\n</VirtualHost>"),
        ("fonbo_url", "http://FONBO:8180/<x>"),
    ],
)
def test_values_that_are_not_one_apache_token_are_a_rendering_bug(field, value):
    with pytest.raises(ValueError):
        ApacheSiteConfig(**{**vars(DEMO_SITE), field: value})


_comment = st.from_regex(r"\A[ \t]*#[ -~]{0,40}\Z")
_other = st.sampled_from(
    [
        "        Header always set Strict-Transport-Security max-age=63072000",
        "        ProxyPass /otro http://127.0.0.1:9000/otro",
        "        ProxyPassReverse /janus http://127.0.0.1:8088/janus",
        "        LogLevel warn",
        "        SSLProtocol all -SSLv3",
        "",
    ]
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(extra=st.lists(st.tuples(st.integers(0, 40), st.one_of(_comment, _other)), max_size=12))
def test_property_every_installer_line_survives_and_the_values_read_back(extra):
    lines = render_apache_site(MANUAL_SITE).splitlines()
    body = (lines.index("    <VirtualHost _default_:443>") + 1, lines.index("    </VirtualHost>"))
    for position, line in extra:
        at = body[0] + position % (body[1] - body[0])
        lines.insert(at, line)
        body = (body[0], body[1] + 1)
    rendered = render_apache_site(DEMO_SITE, "\n".join(lines) + "\n")
    out = rendered.splitlines()
    for _, line in extra:
        assert out.count(line) >= lines.count(line)
    values = site_values(rendered)
    assert values["servername"] == ["webrtc.example.org"]
    assert values["/janus"] == ["http://127.0.0.1:8089/janus"]
    assert render_apache_site(DEMO_SITE, rendered) == rendered


@pytest.fixture
def site_files(tmp_path, pki):
    issued = pki.server("webrtc.example.org")
    ssl_dir = tmp_path / "ssl"
    ssl_dir.mkdir()
    (ssl_dir / "webrtc.example.org.crt").write_text(issued.pem + issued.chain_pem)
    (ssl_dir / "webrtc.example.org.key").write_text(issued.key_pem)
    (tmp_path / "www").mkdir()
    return ApacheSiteConfig(
        **{
            **vars(DEMO_SITE),
            "document_root": str(tmp_path / "www"),
            "certificate_file": str(ssl_dir / "webrtc.example.org.crt"),
            "key_file": str(ssl_dir / "webrtc.example.org.key"),
        }
    )


@pytest.mark.parametrize("existing", [None, INSTALLER_SITE])
def test_debians_apache_accepts_the_rendered_site(tmp_path, site_files, existing):
    confdir = apache_confdir(tmp_path, render_apache_site(site_files, existing), listen=[])
    result = apache2ctl(confdir, "-t")
    assert result.returncode == 0, result.stderr


def test_debians_apache_refuses_a_site_whose_key_is_missing(tmp_path, site_files):
    Path(site_files.key_file).unlink()
    confdir = apache_confdir(tmp_path, render_apache_site(site_files), listen=[])
    assert apache2ctl(confdir, "-t").returncode != 0


# --- /etc/hosts -------------------------------------------------------------------------------

DEBIAN_HOSTS = (
    "127.0.0.1\tlocalhost\n"
    "127.0.1.1\twebrtc.example.org\twebrtc\n"
    "\n"
    "# The following lines are desirable for IPv6 capable hosts\n"
    "::1     localhost ip6-localhost ip6-loopback\n"
    "ff02::1 ip6-allnodes\n"
)
CORPORATE = HostsConfig(corporate_address="192.0.2.20", corporate_name="VC-corp-demo")


@pytest.mark.parametrize(
    "existing",
    [
        "",
        DEBIAN_HOSTS,
        DEBIAN_HOSTS.rstrip("\n"),
        DEBIAN_HOSTS.replace("\n", "\r\n"),
        DEBIAN_HOSTS + "192.0.2.77 otro.example.org # FONBO en un comentario\n",
    ],
)
def test_the_block_is_added_and_every_other_line_kept(existing):
    rendered = render_hosts(CORPORATE, existing)
    assert rendered.startswith(existing.rstrip("\r\n"))
    assert fonbo_lines(rendered) == ["192.0.2.20 BDTR BDHIST VC-corp-demo FONBO"]
    assert rendered.splitlines()[-3:] == [BEGIN, CORPORATE.line(), END]
    assert render_hosts(CORPORATE, rendered) == rendered


def test_the_block_is_replaced_where_it_is():
    first = render_hosts(CORPORATE, DEBIAN_HOSTS) + "192.0.2.5 impresora.example.org\n"
    moved = HostsConfig(corporate_address="2001:db8::20", corporate_name="VC-corp-demo")
    rendered = render_hosts(moved, first)
    assert rendered == first.replace(CORPORATE.line(), moved.line())


def test_a_hand_written_fonbo_line_becomes_the_block_in_place():
    manual = DEBIAN_HOSTS.replace(
        "\n\n", "\n10.133.133.10 BDTR BDHIST VC-corp-zonaejemplo FONBO\n\n", 1
    )
    rendered = render_hosts(CORPORATE, manual)
    lines = rendered.splitlines()
    assert lines[2:5] == [BEGIN, CORPORATE.line(), END]
    assert "10.133.133.10" not in rendered
    assert lines[5:] == DEBIAN_HOSTS.splitlines()[2:]


# --- vars.sh ----------------------------------------------------------------------------------


def test_vars_sh_sets_each_variable_where_it_is_and_keeps_the_rest():
    existing = (
        "#!/bin/bash\n"
        "# red del cliente\n"
        "export ETH_LAN=ens3   # interfaz interna\n"
        "export OTRA=1\n"
        "export IP_DMZ=89.140.51.149\n"
        "TZ=Europe/Madrid\n"
    )
    rendered = render_firewall_vars(DEMO_VARS, existing)
    lines = rendered.splitlines()
    assert lines[:6] == [
        "#!/bin/bash",
        "# red del cliente",
        "export ETH_LAN=eth0   # interfaz interna",
        "export OTRA=1",
        "export IP_DMZ=192.0.2.200",
        "TZ=Europe/Madrid",
    ]
    assert lines[6:] == [
        "export IP_LAN=192.0.2.10",
        "export RED_LAN=192.0.2.0/25",
        "export ETH_DMZ=eth1",
        "export RED_DMZ=192.0.2.192/27",
    ]
    assert render_firewall_vars(DEMO_VARS, rendered) == rendered
    assert exported_values(rendered)["OTRA"] == ["1"]


def test_vars_sh_is_valid_bash_whose_variables_read_back(tmp_path):
    script = tmp_path / "vars.sh"
    script.write_text(render_firewall_vars(DEMO_VARS, "#!/bin/bash\nexport ETH_LAN=x\n"))
    result = subprocess.run(
        [
            "/bin/bash",
            "-c",
            f". {script} && echo $ETH_LAN $IP_LAN $RED_LAN $ETH_DMZ $IP_DMZ $RED_DMZ",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == [v for _, v in DEMO_VARS.exports()]
