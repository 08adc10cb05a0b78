"""janus's files beyond janus.jcfg's server name (issue #16): the transports' certificate keys,
the NAT and media settings, keys removed when empty, and janus's own parser on every render.

Golden outputs live in tests/nodes/golden (UPDATE_GOLDEN=1 rewrites them)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nodes.rendering import (
    JanusConfig,
    JanusTransportConfig,
    parse_libconfig,
    render_janus_jcfg,
    render_janus_transport_http,
    render_janus_transport_websockets,
)
from nodes.rendering.libconfig import Editor
from tests.nodes.janus_tools import assert_janus_parses, janus_parse
from tests.nodes.test_rendering import (
    GOLDEN,
    JANUS_MANAGED_NAMES,
    PROPERTY_SETTINGS,
    assert_golden,
    assert_only_managed_lines_changed,
    read,
    safe_text,
)

TRANSPORTS = {
    "janus.transport.http": render_janus_transport_http,
    "janus.transport.websockets": render_janus_transport_websockets,
}
OWN_CERTIFICATE = JanusTransportConfig(cert_pem="/etc/ssl/meet.pem", cert_key="/etc/ssl/meet.key")
NO_CERTIFICATE = JanusTransportConfig()


@pytest.mark.parametrize("name", TRANSPORTS)
def test_transport_file_without_existing_one_is_janus_default_without_certificate(name):
    rendered = TRANSPORTS[name](NO_CERTIFICATE)
    assert "certificates" not in parse_libconfig(rendered)
    assert_golden(f"{name}.jcfg", rendered)  # janus-cfgconv parses it too


@pytest.mark.parametrize("name", TRANSPORTS)
@pytest.mark.parametrize("config", [NO_CERTIFICATE, OWN_CERTIFICATE], ids=["none", "own"])
def test_transport_file_keeps_everything_but_its_certificate_keys(name, config):
    existing = read(GOLDEN / f"{name}.existing.jcfg")
    rendered = TRANSPORTS[name](config, existing)
    suffix = "merged" if config is NO_CERTIFICATE else "own-certificate"
    assert_golden(f"{name}.{suffix}.jcfg", rendered)
    assert_only_managed_lines_changed(existing, rendered, {"cert_pem", "cert_key"}.__contains__)
    tree, base = parse_libconfig(rendered), parse_libconfig(existing)
    expected = {"cert_pem": config.cert_pem, "cert_key": config.cert_key} if config.cert_pem else {}
    assert tree.pop("certificates") == expected
    base.pop("certificates")
    assert tree == base
    assert TRANSPORTS[name](config, rendered) == rendered


@PROPERTY_SETTINGS
@given(
    name=st.sampled_from(sorted(TRANSPORTS)),
    cert_pem=safe_text,
    cert_key=safe_text,
    existing=st.booleans(),
)
def test_property_transport_certificate_reads_back(name, cert_pem, cert_key, existing):
    config = JanusTransportConfig(cert_pem=cert_pem, cert_key=cert_key)
    text = read(GOLDEN / f"{name}.existing.jcfg") if existing else None
    rendered = TRANSPORTS[name](config, text)
    certificates = parse_libconfig(rendered).get("certificates", {})
    managed = {k: v for k, v in certificates.items() if k in ("cert_pem", "cert_key")}
    assert managed == (
        {"cert_pem": cert_pem, "cert_key": cert_key} if cert_pem and cert_key else {}
    )
    assert TRANSPORTS[name](config, rendered) == rendered
    assert_janus_parses(rendered)


def test_own_dtls_certificate_is_written_in_janus_jcfg():
    config = JanusConfig(
        server_name="meet.example.org", cert_pem="/etc/ssl/meet.pem", cert_key="/etc/ssl/meet.key"
    )
    rendered = render_janus_jcfg(config, read(GOLDEN / "janus.existing.jcfg"))
    assert parse_libconfig(rendered)["certificates"] == {
        "cert_pem": "/etc/ssl/meet.pem",
        "cert_key": "/etc/ssl/meet.key",
    }
    # Back to none: the keys go, the sample's commented lines stay.
    again = render_janus_jcfg(JanusConfig(server_name="meet.example.org"), rendered)
    assert again == render_janus_jcfg(
        JanusConfig(server_name="meet.example.org"), read(GOLDEN / "janus.existing.jcfg")
    )


def test_nat_and_media_settings_are_rendered_and_removed():
    config = JanusConfig(
        server_name="meet.example.org",
        rtp_port_min=20100,
        rtp_port_max=20199,
        nat_1_1_mapping="192.0.2.10",
        keep_private_host=True,
        stun_server="stun.example.org",
        stun_port=3479,
        ice_enforce_list="eth0,eth1",
    )
    existing = read(GOLDEN / "janus.existing.jcfg")
    rendered = render_janus_jcfg(config, existing)
    assert_golden("janus.nat.jcfg", rendered)
    assert_only_managed_lines_changed(existing, rendered, JANUS_MANAGED_NAMES.__contains__)
    tree = parse_libconfig(rendered)
    assert tree["media"]["rtp_port_range"] == "20100-20199"
    assert tree["nat"] == {
        "stun_server": "stun.example.org",
        "stun_port": 3479,
        "nat_1_1_mapping": "192.0.2.10",
        "keep_private_host": True,
        "ignore_unreachable_ice_server": True,
        "ice_enforce_list": "eth0,eth1",
        "nice_debug": False,
        "ice_ignore_list": "vmnet",
    }
    cleared = render_janus_jcfg(JanusConfig(server_name="meet.example.org"), rendered)
    assert parse_libconfig(cleared)["nat"] == {
        "ignore_unreachable_ice_server": True,
        "nice_debug": False,
        "ice_ignore_list": "vmnet",
    }


# --- Editor.remove_path ----------------------------------------------------------------------

REMOVALS = [
    # (text, path, expected)
    ("g: {\n\ta = 1\n\tb = 2\n}\n", ("g", "a"), "g: {\n\tb = 2\n}\n"),
    ("g: {\n\ta = 1;  # about a\n\tb = 2;\n}\n", ("g", "a"), "g: {\n\tb = 2;\n}\n"),
    ("g: { a = 1; b = 2; }\n", ("g", "a"), "g: { b = 2; }\n"),
    ("g: { a = 1; b = 2; }\n", ("g", "b"), "g: { a = 1; }\n"),
    ("a = 1\nb = 2", ("b",), "a = 1\n"),
    ("g: {\n\t#a = 1\n}\n", ("g", "a"), "g: {\n\t#a = 1\n}\n"),  # a comment is no setting
    ("g: {\r\n\ta = 1\r\n\tb = 2\r\n}\r\n", ("g", "b"), "g: {\r\n\ta = 1\r\n}\r\n"),
]


@pytest.mark.parametrize(("text", "path", "expected"), REMOVALS)
def test_remove_path_removes_only_that_setting(text, path, expected):
    editor = Editor(text)
    editor.remove_path(path)
    assert editor.text == expected
    parse_libconfig(editor.text)


def test_janus_cfgconv_refuses_what_janus_would_refuse():
    """The tool the tests lean on does fail on a broken file (so a pass means something)."""
    done = janus_parse("general: {\n\tserver_name = \n}\n")
    assert done.returncode != 0 or "[ERR]" in done.stdout + done.stderr
