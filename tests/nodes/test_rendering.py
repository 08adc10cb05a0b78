"""Pure renderers of the files pushed to a WebRTC node (no database, no network).

Golden references are the manual's files, transcribed in ``shared/reference`` beside the repo;
the merge fixtures and expected outputs live in ``tests/nodes/golden`` (set UPDATE_GOLDEN=1 to
rewrite the expected outputs after a deliberate change, then review the diff).
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import os
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nodes.rendering import (
    JanusConfig,
    LibconfigError,
    SerCenConfig,
    WebfonPluginConfig,
    parse_libconfig,
    render_janus_jcfg,
    render_sercen_conf,
    render_webfon_plugin,
)
from nodes.rendering.libconfig import INT32_MAX, INT32_MIN, quote_string
from tests.nodes.janus_tools import assert_janus_parses

SHARED = Path(__file__).resolve().parents[3] / "shared"
REFERENCE = SHARED / "reference"
GOLDEN = Path(__file__).resolve().parent / "golden"

MANUAL_WEBFON = WebfonPluginConfig(
    local_nodo_id=4,
    sesiones_max=25,
    colas_limpiar_siempre=True,
    mysql_host="BDTR",
    mysql_user="nimitz",
    mysql_password="CLAVE_EJEMPLO",
    mysql_database="nimitz",
    max_dispositivos=25,
    local_ip="10.10.0.31",
    max_digi_llam_sal=10,
    media_max=500,
    rtp_min_puerto=11000,
    rtp_max_puerto=11999,
    audio_codec="pcma",
    video_codec="h264",
)
MANUAL_SERCEN = SerCenConfig(
    smtps_usa=False,
    smtp_host="lab.mdnova.local",
    smtp_puerto=25,
    smtp_usuario="",
    smtp_clave="",
    exempt_networks=(("172.25.1.0", "255.255.255.0"),),
    vivait_meet_prefijo_min=5,
    vivait_meet_prefijo="vivaitcall_",
    vivait_meet_dnis="9999",
    clave_caduca_dias=0,
)
MANUAL_JANUS = JanusConfig(server_name="labmeet.mdnova.local")

# Values differing from the manual's in every managed key, for the merge tests.
OTHER_WEBFON = WebfonPluginConfig(
    local_nodo_id=7,
    sesiones_max=40,
    colas_limpiar_siempre=False,
    mysql_host="bdtr2.example.org",
    mysql_user="webfon",
    mysql_password='n3w"pa\\ss',
    mysql_database="nimitz2",
    max_dispositivos=60,
    local_ip="10.20.0.5",
    max_digi_llam_sal=12,
    media_max=800,
    rtp_min_puerto=12000,
    rtp_max_puerto=12999,
    audio_codec="opus",
    video_codec="vp8",
)
OTHER_SERCEN = SerCenConfig(
    smtps_usa=True,
    smtp_host="smtp.example.org",
    smtp_puerto=465,
    smtp_usuario="pins@example.org",
    smtp_clave="s3cret",
    exempt_networks=(("172.25.1.0", "255.255.255.0"),),
    vivait_meet_prefijo_min=6,
    vivait_meet_prefijo="sala_",
    vivait_meet_dnis="8888",
    clave_caduca_dias=30,
)
OTHER_JANUS = JanusConfig(server_name="meet.example.org")

WEBFON_MANAGED = {
    ("sesion", "local_nodo_id"): "local_nodo_id",
    ("sesion", "sesiones_max"): "sesiones_max",
    ("sesion", "colas_limpiar_siempre"): "colas_limpiar_siempre",
    ("mysql", "host"): "mysql_host",
    ("mysql", "usuario"): "mysql_user",
    ("mysql", "clave"): "mysql_password",
    ("mysql", "base_datos"): "mysql_database",
    ("sip", "max_dispositivos"): "max_dispositivos",
    ("sip", "local_ip"): "local_ip",
    ("sip", "max_digi_llam_sal"): "max_digi_llam_sal",
    ("media", "media_max"): "media_max",
    ("media", "rtp_min_puerto"): "rtp_min_puerto",
    ("media", "rtp_max_puerto"): "rtp_max_puerto",
    ("media", "audio_codec"): "audio_codec",
    ("media", "video_codec_0"): "video_codec",
}
WEBFON_MANAGED_NAMES = {key for _section, key in WEBFON_MANAGED}
SERCEN_MANAGED_RE = re.compile(
    r"smtps_usa|smtp_host|smtp_puerto|smtp_usuario|smtp_clave|f1factor_\d+_(?:ip|msk)"
    r"|vivait_meet_prefijo_min|vivait_meet_prefijo|vivait_meet_dnis|clave_caduca_dias"
)
JANUS_MANAGED_NAMES = {
    "server_name",
    "cert_pem",
    "cert_key",
    "rtp_port_range",
    "stun_server",
    "stun_port",
    "nat_1_1_mapping",
    "keep_private_host",
    "ignore_unreachable_ice_server",
    "ice_enforce_list",
}


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def assert_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert text == read(path), f"{name} differs from its golden file"
    if name.endswith(".jcfg"):
        assert_janus_parses(text)


# --- expected trees, built independently of the renderers ----------------------------------


def expected_webfon(config: WebfonPluginConfig, base: dict[str, Any]) -> dict[str, Any]:
    tree = copy.deepcopy(base)
    for (section, key), attribute in WEBFON_MANAGED.items():
        tree.setdefault(section, {})[key] = getattr(config, attribute)
    return tree


def sercen_pairs(config: SerCenConfig) -> dict[str, str]:
    pairs = {}
    networks = list(config.exempt_networks)
    networks += [("", "")] * max(0, 4 - len(networks))
    for index, (ip, mask) in enumerate(networks):
        pairs[f"f1factor_{index:02d}_ip"] = ip
        pairs[f"f1factor_{index:02d}_msk"] = mask
    return pairs


def expected_sercen_fresh(config: SerCenConfig) -> dict[str, Any]:
    return {
        "smtps_usa": config.smtps_usa,
        "smtp_host": config.smtp_host,
        "smtp_puerto": config.smtp_puerto,
        "smtp_usuario": config.smtp_usuario,
        "smtp_clave": config.smtp_clave,
        **sercen_pairs(config),
        "vivait_meet_prefijo_min": config.vivait_meet_prefijo_min,
        "vivait_meet_prefijo": config.vivait_meet_prefijo,
        "vivait_meet_dnis": config.vivait_meet_dnis,
        "ws_implementacion": {"clave_caduca_dias": config.clave_caduca_dias},
    }


def assert_only_managed_lines_changed(before: str, after: str, is_managed) -> None:
    """Every line is kept byte for byte except managed values; new lines are managed keys."""
    setting = re.compile(
        r"^(?P<lead>\s*(?P<key>[A-Za-z][\w-]*)\s*[=:]\s*)"
        r'(?P<value>"(?:[^"\\]|\\.)*"|[^;,\s]+)(?P<tail>.*)$',
        re.DOTALL,
    )

    def blank_managed_value(line: str) -> str:
        match = setting.match(line)
        if match and is_managed(match["key"]):
            return f"{match['lead']}<managed value>{match['tail']}"
        return line

    old = [blank_managed_value(line) for line in before.splitlines(keepends=True)]
    new = [blank_managed_value(line) for line in after.splitlines(keepends=True)]
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        # A managed key may be added, or removed (janus's absent keys).
        assert tag in ("insert", "delete"), (
            f"changed beyond managed values: {old[i1:i2]} -> {new[j1:j2]}"
        )
        for line in [*old[i1:i2], *new[j1:j2]]:
            assert "<managed value>" in line, f"unexpected added or removed line {line!r}"


# --- golden: the manual's files -------------------------------------------------------------


def test_webfon_without_existing_file_is_the_manual_file():
    rendered = render_webfon_plugin(MANUAL_WEBFON)
    reference = read(REFERENCE / "vivait.plugin.webfon.jcfg")
    assert parse_libconfig(rendered) == parse_libconfig(reference)
    assert list(parse_libconfig(rendered)) == [
        "debug",
        "sesion",
        "mensaje",
        "mysql",
        "supervision",
        "sip",
        "media",
    ]
    assert rendered == reference
    assert_golden("vivait.plugin.webfon.jcfg", rendered)


def test_sercen_without_existing_file_has_the_manual_keys():
    rendered = render_sercen_conf(MANUAL_SERCEN)
    fragment = read(REFERENCE / "serCen.conf.fragment")
    tree = parse_libconfig(rendered)
    assert tree.pop("ws_implementacion") == {"clave_caduca_dias": 0}
    assert tree == parse_libconfig(fragment)
    assert tree["f1factor_00_ip"] == "172.25.1.0"
    assert tree["f1factor_00_msk"] == "255.255.255.0"
    assert all(tree[f"f1factor_0{i}_{part}"] == "" for i in (1, 2, 3) for part in ("ip", "msk"))
    # The manual's lines appear as they are, in the same order.
    fragment_settings = [line for line in fragment.splitlines() if "=" in line[:40]]
    fragment_settings = [line for line in fragment_settings if not line.startswith("#")]
    rendered_lines = rendered.splitlines()
    assert [line for line in rendered_lines if line in fragment_settings] == fragment_settings
    assert_golden("serCen.conf", rendered)


def test_janus_without_existing_file_has_the_manual_keys():
    rendered = render_janus_jcfg(MANUAL_JANUS)
    fragment = parse_libconfig(read(REFERENCE / "janus.jcfg.fragment"))
    tree = parse_libconfig(rendered)
    assert tree["general"] == {"server_name": fragment["server_name"]}
    # The manual's "dejar en blanco": no certificate keys at all (janus 1.x takes an empty
    # cert_pem as a file path and stops; without the keys it generates its own certificate).
    assert fragment["certificates"] == {"cert_pem": "", "cert_key": ""}
    assert "certificates" not in tree
    assert tree["media"] == {"rtp_port_range": "20000-20999"}  # the firewall's UDP range
    assert tree["nat"] == {"ignore_unreachable_ice_server": True}
    assert_janus_parses(rendered)
    assert_golden("janus.jcfg", rendered)


def test_blank_existing_file_is_treated_as_missing():
    assert render_webfon_plugin(MANUAL_WEBFON, " \n") == render_webfon_plugin(MANUAL_WEBFON)
    assert render_sercen_conf(MANUAL_SERCEN, "") == render_sercen_conf(MANUAL_SERCEN)
    assert render_janus_jcfg(MANUAL_JANUS, "\n") == render_janus_jcfg(MANUAL_JANUS)


# --- colas_limpiar_siempre (manual 7.6.2, 7.6.3) ----------------------------------------------


@pytest.mark.parametrize("value", [True, False])
def test_colas_limpiar_siempre_flips(value):
    config = dataclasses.replace(MANUAL_WEBFON, colas_limpiar_siempre=value)
    literal = "true" if value else "false"
    for existing in (None, render_webfon_plugin(MANUAL_WEBFON)):
        rendered = render_webfon_plugin(config, existing)
        assert parse_libconfig(rendered)["sesion"]["colas_limpiar_siempre"] is value
        assert f"        colas_limpiar_siempre = {literal}\n" in rendered
    flipped = dataclasses.replace(config, colas_limpiar_siempre=not value)
    before = render_webfon_plugin(flipped)
    after = render_webfon_plugin(config, before)
    changed = [
        (a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b
    ]
    assert changed == [
        (
            f"        colas_limpiar_siempre = {'false' if value else 'true'}",
            f"        colas_limpiar_siempre = {literal}",
        )
    ]


# --- round trip over existing files ---------------------------------------------------------


def test_webfon_existing_file_keeps_everything_but_managed_values():
    existing = read(GOLDEN / "vivait.plugin.webfon.existing.jcfg")
    rendered = render_webfon_plugin(OTHER_WEBFON, existing)
    assert_golden("vivait.plugin.webfon.merged.jcfg", rendered)
    assert_only_managed_lines_changed(existing, rendered, WEBFON_MANAGED_NAMES.__contains__)

    tree = parse_libconfig(rendered)
    assert tree == expected_webfon(OTHER_WEBFON, parse_libconfig(existing))
    # Unmanaged values tuned on the node survive, including a same-named unmanaged key.
    assert tree["sesion"]["conferencias_max"] == 250
    assert tree["supervision"]["puerto_escucha"] == 1200
    assert tree["sip"]["extra_unknown_key"] == "kept"
    assert tree["media"]["audio_rtp_dscp"] == 46
    assert tree["mysql"]["clave"] == 'n3w"pa\\ss'
    # The missing managed key is added after the key preceding it in the manual, in style.
    assert "        latido_segs = 0\n        max_digi_llam_sal = 12\n" in rendered
    # Terminators and tab indentation of the existing lines are kept.
    assert '        clave = "n3w\\"pa\\\\ss";\n' in rendered
    assert "\tmedia_max = 800\n" in rendered


def test_webfon_missing_section_is_appended_with_the_managed_keys_only():
    existing = "debug: {\n        lock_debug = false\n}\n"
    rendered = render_webfon_plugin(MANUAL_WEBFON, existing)
    assert rendered.startswith(existing + "\nsesion: {\n        local_nodo_id = 4\n")
    tree = parse_libconfig(rendered)
    assert tree == expected_webfon(MANUAL_WEBFON, {"debug": {"lock_debug": False}})
    assert render_webfon_plugin(MANUAL_WEBFON, rendered) == rendered


def test_sercen_existing_file_keeps_everything_but_managed_values():
    existing = read(GOLDEN / "serCen.existing.conf")
    rendered = render_sercen_conf(OTHER_SERCEN, existing)
    assert_golden("serCen.merged.conf", rendered)
    assert_only_managed_lines_changed(
        existing, rendered, lambda key: SERCEN_MANAGED_RE.fullmatch(key) is not None
    )
    tree = parse_libconfig(rendered)
    assert tree["log_nivel"] == 3
    assert tree["ws_implementacion"] == {
        "puerto": 8443,
        "clave_caduca_dias": 30,
        "token_expira_segs": 3600,
    }
    # One network: pair 00 set, 01-03 blank, and the extra 04-05 blanked, not deleted.
    assert {k: v for k, v in tree.items() if k.startswith("f1factor_")} == {
        **sercen_pairs(OTHER_SERCEN),
        "f1factor_04_ip": "",
        "f1factor_04_msk": "",
        "f1factor_05_ip": "",
        "f1factor_05_msk": "",
    }
    # The missing vivait_meet_dnis follows the key preceding it.
    assert '        vivait_meet_prefijo = "sala_"\n        vivait_meet_dnis = "8888"\n' in rendered
    assert '        smtp_clave = "s3cret"     // no authentication\n' in rendered


def test_sercen_more_networks_than_pairs_adds_pairs_after_the_last_one():
    networks = tuple((f"10.{i}.0.0", "255.255.0.0") for i in range(6))
    config = dataclasses.replace(MANUAL_SERCEN, exempt_networks=networks)
    rendered = render_sercen_conf(config, render_sercen_conf(MANUAL_SERCEN))
    assert (
        '        f1factor_03_msk = "255.255.0.0"\n'
        '        f1factor_04_ip = "10.4.0.0"\n'
        '        f1factor_04_msk = "255.255.0.0"\n'
        '        f1factor_05_ip = "10.5.0.0"\n'
        '        f1factor_05_msk = "255.255.0.0"\n'
        "\n# Rooms reachable by phone\n"
    ) in rendered
    assert parse_libconfig(rendered) == expected_sercen_fresh(config)
    # Back to one network: the six pairs stay, 01-05 blanked.
    shrunk = parse_libconfig(render_sercen_conf(MANUAL_SERCEN, rendered))
    assert shrunk["f1factor_00_ip"] == "172.25.1.0"
    assert [shrunk[f"f1factor_0{i}_ip"] for i in range(1, 6)] == [""] * 5


def test_sercen_keys_are_replaced_in_whatever_group_they_are():
    existing = (
        "correo = {\n"
        '    smtp_host = "old"; smtp_puerto = 25;\n'
        "};\n"
        "otro: {\n"
        '    f1factor_00_ip = "1.2.3.4"\n'
        '    f1factor_09_ip = "9.9.9.9"\n'
        "}\n"
        "// end\n"
    )
    rendered = render_sercen_conf(OTHER_SERCEN, existing)
    # Missing keys join their neighbours (smtps_usa before smtp_host, the rest after the
    # last present key), in the neighbour's indentation and terminator style; extra f1factor
    # pairs are blanked; clave_caduca_dias goes into a new ws_implementacion group, appended.
    assert rendered == (
        "correo = {\n"
        "    smtps_usa = true;\n"
        '    smtp_host = "smtp.example.org"; smtp_puerto = 465;\n'
        '    smtp_usuario = "pins@example.org";\n'
        '    smtp_clave = "s3cret";\n'
        "};\n"
        "otro: {\n"
        '    f1factor_00_ip = "172.25.1.0"\n'
        '    f1factor_00_msk = "255.255.255.0"\n'
        '    f1factor_01_ip = ""\n'
        '    f1factor_01_msk = ""\n'
        '    f1factor_02_ip = ""\n'
        '    f1factor_02_msk = ""\n'
        '    f1factor_03_ip = ""\n'
        '    f1factor_03_msk = ""\n'
        "    vivait_meet_prefijo_min = 6\n"
        '    vivait_meet_prefijo = "sala_"\n'
        '    vivait_meet_dnis = "8888"\n'
        '    f1factor_09_ip = ""\n'
        "}\n"
        "// end\n"
        "\n"
        "ws_implementacion: {\n"
        "    clave_caduca_dias = 30\n"  # the file's indentation step
        "}\n"
    )
    assert render_sercen_conf(OTHER_SERCEN, rendered) == rendered


def test_janus_existing_file_keeps_everything_but_managed_values():
    existing = read(GOLDEN / "janus.existing.jcfg")
    rendered = render_janus_jcfg(OTHER_JANUS, existing)
    assert_golden("janus.merged.jcfg", rendered)
    assert_only_managed_lines_changed(existing, rendered, JANUS_MANAGED_NAMES.__contains__)
    tree = parse_libconfig(rendered)
    base = parse_libconfig(existing)
    assert tree["general"] == {**base["general"], "server_name": "meet.example.org"}
    assert tree["certificates"] == {}  # only commented-out keys, as janus's sample has them
    assert tree["media"] == {**base["media"], "rtp_port_range": "20000-20999"}
    # The unreachable STUN server of the sample is not the node's (it has none).
    assert tree["nat"] == {
        "nice_debug": False,
        "ice_ignore_list": "vmnet",
        "ignore_unreachable_ice_server": True,
    }
    assert '\t#server_name = "MyJanusInstance"' in rendered  # comments stay comments
    assert '\t#cert_pem = "/path/to/certificate.pem"' in rendered
    assert_janus_parses(rendered)


def test_janus_server_name_is_replaced_where_it_is():
    existing = (
        "general: {\n"
        '\tserver_name = "labmeet.mdnova.local"\t\t# public name\n'
        "\tdebug_level = 4\n"
        "}\n"
        "certificates: {\n"
        '\tcert_pem = "/etc/ssl/node.pem"\n'
        '\tcert_key = "/etc/ssl/node.key"\n'
        "}\n"
    )
    rendered = render_janus_jcfg(OTHER_JANUS, existing)
    assert rendered == (
        "general: {\n"
        '\tserver_name = "meet.example.org"\t\t# public name\n'
        "\tdebug_level = 4\n"
        "}\n"
        "certificates: {\n"
        "}\n"
        "\n"
        "media: {\n"
        '\trtp_port_range = "20000-20999"\n'
        "}\n"
        "\n"
        "nat: {\n"
        "\tignore_unreachable_ice_server = true\n"
        "}\n"
    )


def test_crlf_files_get_crlf_lines():
    existing = "sesion: {\r\n        local_nodo_id = 1\r\n}\r\n"
    rendered = render_webfon_plugin(MANUAL_WEBFON, existing)
    assert "\n" not in rendered.replace("\r\n", "")
    assert render_webfon_plugin(MANUAL_WEBFON, rendered) == rendered


def test_invalid_existing_file_is_refused():
    with pytest.raises(LibconfigError, match="line 3, column 1: expected a value"):
        render_webfon_plugin(MANUAL_WEBFON, "sesion: {\n  local_nodo_id = \n}\n")
    with pytest.raises(LibconfigError, match="duplicate"):
        render_janus_jcfg(MANUAL_JANUS, "a = 1\na = 2\n")
    with pytest.raises(LibconfigError, match="expected a single value"):
        render_janus_jcfg(MANUAL_JANUS, "general: { server_name = [1, 2] }\n")


# --- idempotence ----------------------------------------------------------------------------

RENDER_CASES = [
    (render_webfon_plugin, OTHER_WEBFON, None),
    (render_webfon_plugin, OTHER_WEBFON, "vivait.plugin.webfon.existing.jcfg"),
    (render_sercen_conf, OTHER_SERCEN, None),
    (render_sercen_conf, OTHER_SERCEN, "serCen.existing.conf"),
    (render_janus_jcfg, OTHER_JANUS, None),
    (render_janus_jcfg, OTHER_JANUS, "janus.existing.jcfg"),
]


@pytest.mark.parametrize(("render", "config", "existing_name"), RENDER_CASES)
def test_rendering_is_idempotent(render, config, existing_name):
    existing = read(GOLDEN / existing_name) if existing_name else None
    once = render(config, existing)
    assert render(config, once) == once
    assert render(config, existing) == once  # deterministic


# --- properties -----------------------------------------------------------------------------

LINE_BREAKS = ("\n", "\r", "\x00")
safe_text = st.text(
    st.characters(exclude_characters="".join(LINE_BREAKS), exclude_categories=("Cs",)), max_size=30
)
int32 = st.integers(INT32_MIN, INT32_MAX)
PROPERTY_SETTINGS = settings(
    max_examples=100,
    deadline=None,
    database=None,  # no .hypothesis/ directory in the repo
)

webfon_configs = st.builds(
    WebfonPluginConfig,
    local_nodo_id=int32,
    colas_limpiar_siempre=st.booleans(),
    sesiones_max=int32,
    max_dispositivos=int32,
    local_ip=safe_text,
    max_digi_llam_sal=int32,
    media_max=int32,
    rtp_min_puerto=int32,
    rtp_max_puerto=int32,
    audio_codec=safe_text,
    video_codec=safe_text,
    mysql_host=safe_text,
    mysql_user=safe_text,
    mysql_password=safe_text,
    mysql_database=safe_text,
)
sercen_configs = st.builds(
    SerCenConfig,
    smtps_usa=st.booleans(),
    smtp_host=safe_text,
    smtp_puerto=int32,
    smtp_usuario=safe_text,
    smtp_clave=safe_text,
    exempt_networks=st.lists(st.tuples(safe_text, safe_text), max_size=7).map(tuple),
    vivait_meet_prefijo_min=int32,
    vivait_meet_prefijo=safe_text,
    vivait_meet_dnis=safe_text,
    clave_caduca_dias=int32,
)
ports = st.integers(1024, 65535)
janus_configs = st.builds(
    JanusConfig,
    server_name=safe_text,
    cert_pem=safe_text,
    cert_key=safe_text,
    rtp_port_min=ports,
    rtp_port_max=ports,
    nat_1_1_mapping=safe_text,
    keep_private_host=st.booleans(),
    stun_server=safe_text,
    stun_port=ports,
    ice_enforce_list=safe_text,
)


def expected_janus(config: JanusConfig, base: dict[str, Any]) -> dict[str, Any]:
    """The tree a janus.jcfg rendered over ``base`` must read back as (written independently
    of the renderer: a key whose value is empty is absent)."""
    tree = copy.deepcopy(base)
    general = tree.setdefault("general", {})
    general["server_name"] = config.server_name
    certificates = tree.get("certificates", {})
    for key in ("cert_pem", "cert_key"):
        certificates.pop(key, None)
    if config.cert_pem and config.cert_key:
        certificates |= {"cert_pem": config.cert_pem, "cert_key": config.cert_key}
    if "certificates" in tree or certificates:
        tree["certificates"] = certificates
    tree.setdefault("media", {})["rtp_port_range"] = f"{config.rtp_port_min}-{config.rtp_port_max}"
    nat = tree.setdefault("nat", {})
    for key in ("stun_server", "stun_port", "nat_1_1_mapping", "keep_private_host"):
        nat.pop(key, None)
    nat.pop("ice_enforce_list", None)
    nat["ignore_unreachable_ice_server"] = True
    if config.stun_server:
        nat |= {"stun_server": config.stun_server, "stun_port": config.stun_port}
    if config.nat_1_1_mapping:
        nat |= {
            "nat_1_1_mapping": config.nat_1_1_mapping,
            "keep_private_host": config.keep_private_host,
        }
    if config.ice_enforce_list:
        nat["ice_enforce_list"] = config.ice_enforce_list
    return tree


@PROPERTY_SETTINGS
@given(config=webfon_configs)
def test_property_webfon_reads_back(config):
    reference = parse_libconfig(read(REFERENCE / "vivait.plugin.webfon.jcfg"))
    fresh = render_webfon_plugin(config)
    assert parse_libconfig(fresh) == expected_webfon(config, reference)
    assert_janus_parses(fresh)
    # Whatever the strings, one setting per line: same lines as the manual's file.
    assert len(fresh.splitlines()) == len(render_webfon_plugin(MANUAL_WEBFON).splitlines())
    assert render_webfon_plugin(config, fresh) == fresh

    existing = read(GOLDEN / "vivait.plugin.webfon.existing.jcfg")
    merged = render_webfon_plugin(config, existing)
    assert parse_libconfig(merged) == expected_webfon(config, parse_libconfig(existing))
    assert render_webfon_plugin(config, merged) == merged
    assert render_webfon_plugin(MANUAL_WEBFON, merged) == render_webfon_plugin(
        MANUAL_WEBFON, existing
    )


@PROPERTY_SETTINGS
@given(config=sercen_configs)
def test_property_sercen_reads_back(config):
    fresh = render_sercen_conf(config)
    assert parse_libconfig(fresh) == expected_sercen_fresh(config)
    assert render_sercen_conf(config, fresh) == fresh

    existing = read(GOLDEN / "serCen.existing.conf")
    merged = render_sercen_conf(config, existing)
    expected = parse_libconfig(existing) | {
        k: v for k, v in expected_sercen_fresh(config).items() if k != "ws_implementacion"
    }
    for index in range(max(4, len(config.exempt_networks)), 6):  # the file's extra pairs
        expected[f"f1factor_{index:02d}_ip"] = ""
        expected[f"f1factor_{index:02d}_msk"] = ""
    expected["ws_implementacion"] = {
        **expected["ws_implementacion"],
        "clave_caduca_dias": config.clave_caduca_dias,
    }
    assert parse_libconfig(merged) == expected
    assert render_sercen_conf(config, merged) == merged


@PROPERTY_SETTINGS
@given(config=janus_configs)
def test_property_janus_reads_back(config):
    fresh = render_janus_jcfg(config)
    assert parse_libconfig(fresh) == expected_janus(config, {})
    assert render_janus_jcfg(config, fresh) == fresh
    existing = read(GOLDEN / "janus.existing.jcfg")
    merged = render_janus_jcfg(config, existing)
    assert parse_libconfig(merged) == expected_janus(config, parse_libconfig(existing))
    assert render_janus_jcfg(config, merged) == merged
    # janus's own parser reads both as the portal does.
    assert_janus_parses(fresh)
    assert_janus_parses(merged)


def setting_line_numbers(text: str) -> list[int]:
    return [
        number
        for number, line in enumerate(text.splitlines(keepends=True))
        if re.fullmatch(
            r'\s*[a-z][\w-]*\s*=\s*(?:"(?:[^"\\]|\\.)*"|[^\s;"]+);?\s*(?:(?:#|//).*)?\n?', line
        )
    ]


def drop_lines(text: str, numbers: set[int]) -> str:
    lines = text.splitlines(keepends=True)
    return "".join(line for number, line in enumerate(lines) if number not in numbers)


WEBFON_EXISTING = read(GOLDEN / "vivait.plugin.webfon.existing.jcfg")
SERCEN_EXISTING = read(GOLDEN / "serCen.existing.conf")


@PROPERTY_SETTINGS
@given(dropped=st.sets(st.sampled_from(setting_line_numbers(WEBFON_EXISTING))))
def test_property_webfon_missing_keys_are_added_in_place(dropped):
    existing = drop_lines(WEBFON_EXISTING, dropped)
    merged = render_webfon_plugin(OTHER_WEBFON, existing)
    assert parse_libconfig(merged) == expected_webfon(OTHER_WEBFON, parse_libconfig(existing))
    assert_only_managed_lines_changed(existing, merged, WEBFON_MANAGED_NAMES.__contains__)
    assert render_webfon_plugin(OTHER_WEBFON, merged) == merged


@PROPERTY_SETTINGS
@given(dropped=st.sets(st.sampled_from(setting_line_numbers(SERCEN_EXISTING))))
def test_property_sercen_missing_keys_are_added_in_place(dropped):
    existing = drop_lines(SERCEN_EXISTING, dropped)
    merged = render_sercen_conf(OTHER_SERCEN, existing)
    expected = parse_libconfig(existing)
    for key in expected:
        if key.startswith("f1factor_"):
            expected[key] = ""  # pairs 04 and 05 are extra: blanked
    fresh = expected_sercen_fresh(OTHER_SERCEN)
    expected |= {key: value for key, value in fresh.items() if key != "ws_implementacion"}
    expected["ws_implementacion"] = {
        **expected["ws_implementacion"],
        **fresh["ws_implementacion"],
    }
    assert parse_libconfig(merged) == expected
    assert_only_managed_lines_changed(
        existing, merged, lambda key: SERCEN_MANAGED_RE.fullmatch(key) is not None
    )
    assert render_sercen_conf(OTHER_SERCEN, merged) == merged


@PROPERTY_SETTINGS
@given(value=safe_text)
def test_property_any_safe_string_round_trips(value):
    assert parse_libconfig(f"key = {quote_string(value)}\n") == {"key": value}


STRING_FIELDS = [
    (WebfonPluginConfig, MANUAL_WEBFON, name)
    for name in (
        "local_ip",
        "audio_codec",
        "video_codec",
        "mysql_host",
        "mysql_user",
        "mysql_password",
        "mysql_database",
    )
] + [
    (SerCenConfig, MANUAL_SERCEN, name)
    for name in (
        "smtp_host",
        "smtp_usuario",
        "smtp_clave",
        "vivait_meet_prefijo",
        "vivait_meet_dnis",
    )
]


@PROPERTY_SETTINGS
@given(
    field=st.sampled_from(STRING_FIELDS),
    head=safe_text,
    bad=st.sampled_from(LINE_BREAKS),
    tail=safe_text,
)
def test_property_line_breaks_and_nul_are_refused(field, head, bad, tail):
    cls, base, name = field
    with pytest.raises(ValueError, match=f"{name} must not contain"):
        cls(
            **{
                **{f.name: getattr(base, f.name) for f in dataclasses.fields(cls)},
                name: head + bad + tail,
            }
        )


@PROPERTY_SETTINGS
@given(head=safe_text, bad=st.sampled_from(LINE_BREAKS), tail=safe_text, as_mask=st.booleans())
def test_property_line_breaks_are_refused_in_networks_and_server_name(head, bad, tail, as_mask):
    value = head + bad + tail
    network = ("10.0.0.0", value) if as_mask else (value, "255.0.0.0")
    with pytest.raises(ValueError, match="must not contain"):
        dataclasses.replace(MANUAL_SERCEN, exempt_networks=(network,))
    with pytest.raises(ValueError, match="must not contain"):
        JanusConfig(server_name=value)


def test_injection_attempt_is_refused():
    with pytest.raises(ValueError, match="line feed"):
        dataclasses.replace(MANUAL_WEBFON, mysql_password='x"\n        host = "evil')
    with pytest.raises(ValueError, match="NUL"):
        JanusConfig(server_name="meet\x00.example.org")


def test_wrong_types_are_refused():
    with pytest.raises(TypeError):
        dataclasses.replace(MANUAL_WEBFON, local_nodo_id="4")
    with pytest.raises(TypeError):
        dataclasses.replace(MANUAL_WEBFON, colas_limpiar_siempre=1)
    with pytest.raises(TypeError):
        dataclasses.replace(MANUAL_SERCEN, smtp_puerto=True)
    with pytest.raises(ValueError, match="32-bit"):
        dataclasses.replace(MANUAL_WEBFON, media_max=2**31)


def test_passwords_are_not_in_repr():
    assert "CLAVE_EJEMPLO" not in repr(MANUAL_WEBFON)
    assert "s3cret" not in repr(OTHER_SERCEN)


def test_quote_string_escapes():
    assert quote_string('a"b\\c') == '"a\\"b\\\\c"'
    assert quote_string("tab\there\x01\u2028") == '"tab\\there\\x01\\xe2\\x80\\xa8"'
    assert quote_string("ñandú €") == '"ñandú €"'


def test_parse_libconfig_reads_the_libconfig_grammar():
    text = """
    # comment
    // comment
    /* block
       comment */
    @include "other.cfg"
    a = 1; b: 0x1F, c = -2L;
    f = 1.5e3;
    s = "con" "cat\\x41\\t\\q";
    t = TRUE; u = false;
    arr = [1, 2, 3];
    lst = ( "x", { n = 1; }, [ ] );
    g: { h: { i = "deep"; }; };
    """
    assert parse_libconfig(text) == {
        "a": 1,
        "b": 31,
        "c": -2,
        "f": 1500.0,
        "s": "concatA\t\\q",
        "t": True,
        "u": False,
        "arr": [1, 2, 3],
        "lst": ["x", {"n": 1}, []],
        "g": {"h": {"i": "deep"}},
    }
