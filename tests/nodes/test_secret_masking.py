"""Secrets never reach a diff or a preview: masking works on the parsed file, so every value
whose key is a secret is hidden however the file writes it (properties over generated
layouts), through the real renderers of serCen.conf and vivait.plugin.webfon.jcfg, and in
fail2ban's INI files; a file that does not parse is hidden whole."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nodes.push import mask_secrets, unified_diff
from nodes.rendering import SerCenConfig, WebfonPluginConfig, parse_libconfig
from nodes.rendering.libconfig import quote_string
from nodes.rendering.masking import (
    UNREADABLE_FILE,
    is_secret_name,
    mask_ini,
    mask_text,
    scrub,
)
from nodes.rendering.sercen import render_sercen_conf
from nodes.rendering.webfon import render_webfon_plugin
from tests.nodes.layouts import MASKED, files_with, libconfig_files
from tests.nodes.test_rendering import MANUAL_SERCEN, MANUAL_WEBFON

PROPERTY = settings(max_examples=150, deadline=None, database=None)


def assert_no_secret(text: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in text, f"{secret!r} leaked"
        assert quote_string(secret)[1:-1] not in text, f"{secret!r} leaked escaped"


# --- any libconfig layout ------------------------------------------------------------------------


@PROPERTY
@given(layout=libconfig_files())
def test_no_secret_survives_masking_in_any_libconfig_layout(layout):
    masked = mask_text(layout.text)
    assert_no_secret(masked, layout.secrets)
    # Only the secrets changed: the file still parses to the same values, secrets masked.
    assert parse_libconfig(masked) == layout.masked_values


@PROPERTY
@given(old=libconfig_files(), new=libconfig_files())
def test_no_secret_survives_in_the_diff_of_two_layouts(old, new):
    diff = unified_diff("/etc/janus/x.jcfg", old.text, new.text)
    assert_no_secret(diff, old.secrets + new.secrets)
    assert_no_secret("".join(mask_secrets(new.text)), new.secrets)


# --- through the renderers: vivait.plugin.webfon.jcfg and serCen.conf's own syntax ---------------


def webfon_config(password: str) -> WebfonPluginConfig:
    return dataclasses.replace(MANUAL_WEBFON, mysql_password=password)


def sercen_config(password: str) -> SerCenConfig:
    # A user and expiry days too: their keys must stay visible next to the masked password.
    return dataclasses.replace(
        MANUAL_SERCEN, smtp_usuario="pins@example.org", smtp_clave=password, clave_caduca_dias=30
    )


new_secrets = st.text(
    st.characters(exclude_characters="\n\r\x00", exclude_categories=("Cs",)),
    min_size=1,
    max_size=16,
).map(lambda tail: "ZQ" + tail)


@st.composite
def webfon_existing(draw, old: str):
    """A node's plugin file: the mysql group (one line or not, any style) and neighbours."""
    mysql = {"num_conx": 2, "host": "BDTR", "usuario": "nimitz", "clave": old}
    keys = draw(st.permutations(list(mysql)))
    tree = {
        "sesion": {"local_nodo_id": 4},
        "mysql": {key: mysql[key] for key in keys},
        "media": {"media_max": 500},
    }
    return draw(files_with(tree))


@st.composite
def sercen_existing(draw, old: str):
    """A node's serCen.conf as installers write it: the SMTP keys at the top or in a group,
    any order and style, and ws_implementacion."""
    smtp = {"smtps_usa": False, "smtp_host": "old.example.org", "smtp_clave": old}
    keys = draw(st.permutations(list(smtp)))
    smtp = {key: smtp[key] for key in keys}
    tree = {"sercen": smtp} if draw(st.booleans()) else dict(smtp)
    tree["ws_implementacion"] = {"clave_caduca_dias": 0}
    return draw(files_with(tree))


@PROPERTY
@given(data=st.data(), old=new_secrets, new=new_secrets)
def test_webfon_plugin_diff_and_preview_hide_old_and_new_mysql_password(data, old, new):
    existing = data.draw(webfon_existing(old))
    rendered = render_webfon_plugin(webfon_config(new), existing.text)
    assert parse_libconfig(rendered)["mysql"]["clave"] == new  # the node does get it
    diff = unified_diff("/etc/janus/vivait.plugin.webfon.jcfg", existing.text, rendered)
    preview = "".join(mask_secrets(rendered))
    assert_no_secret(diff + preview, [old, new])
    assert parse_libconfig(preview)["mysql"]["clave"] == MASKED


@PROPERTY
@given(data=st.data(), old=new_secrets, new=new_secrets)
def test_sercen_conf_diff_and_preview_hide_old_and_new_smtp_password(data, old, new):
    existing = data.draw(sercen_existing(old))
    rendered = render_sercen_conf(sercen_config(new), existing.text)
    diff = unified_diff("/etc/MDtel/serCen.conf", existing.text, rendered)
    preview = "".join(mask_secrets(rendered))
    assert_no_secret(diff + preview, [old, new])
    assert parse_libconfig(preview)["ws_implementacion"]["clave_caduca_dias"] == 30


@pytest.mark.parametrize(
    "existing",
    [
        'mysql: { num_conx = 2; host = "BDTR"; clave = "vieja-ZQ"; };\n',
        'mysql = {\n  clave: "vieja-ZQ";\n};\n',
        'mysql:\n{\n  clave = "vie" "ja-ZQ",\n  host = "BDTR"\n}\n',
        'mysql: { clave /* la de BDTR */ : "vieja-ZQ" }\n# clave = "vieja-ZQ"\n',
        'mysql: { host = "BDTR"; }\n/* antes: clave = "vieja-ZQ"; */\n',
    ],
)
def test_the_issues_layouts_of_the_mysql_password(existing):
    rendered = render_webfon_plugin(webfon_config("nueva-ZQ"), existing)
    diff = unified_diff("/etc/janus/vivait.plugin.webfon.jcfg", existing, rendered)
    assert "vieja" not in diff and "nueva" not in diff and '"ja-ZQ"' not in diff
    assert MASKED in diff


# --- names, INI, unparseable files, known values ---------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        *("clave", "smtp_clave", "clave_mysql", "claves", "bind_password", "admin_secret"),
        *("turn_pwd", "turn_rest_api_key", "TlsPrivateKey", "api_token", "passwd", "cert_pwd"),
    ],
)
def test_secret_names(name):
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        *("clave_caduca_dias", "token_expira_segs", "cert_key", "smtp_usuario", "smtps_usa"),
        *("host", "passthrough", "local_ip", "usuario"),
    ],
)
def test_names_that_are_not_secrets(name):
    assert not is_secret_name(name)


def test_a_boolean_under_a_secret_looking_name_is_shown():
    assert mask_text("token_auth = true;\nadmin_secret = 12345678;\n") == (
        'token_auth = true;\nadmin_secret = "********";\n'
    )


@pytest.mark.parametrize(
    "text",
    [
        "[sercen]\npassword = vieja-ZQ\nenabled = true\n",
        "[sercen]\npassword: vieja-ZQ\n  sigue-ZQ\nenabled = true\n",
        "[DEFAULT]\nsender_pass=vieja-ZQ\n# password = vieja-ZQ\n",
        "[x]\n; smtp_clave: vieja-ZQ\naction = sendmail\n",
    ],
)
def test_ini_files_are_masked_by_key(text):
    masked = mask_ini(text)
    assert "ZQ" not in masked
    assert masked.count("\n") == text.count("\n")
    assert "enabled = true" in masked or "action = sendmail" in masked or "DEFAULT" in masked


def test_fail2ban_files_are_diffed_as_ini():
    diff = unified_diff(
        "/etc/fail2ban/jail.d/x.conf",
        "[x]\npassword = vieja-ZQ\n",
        "[x]\npassword = nueva-ZQ\nmaxretry = 3\n",
        syntax="ini",
    )
    assert "ZQ" not in diff and "+maxretry = 3" in diff


@pytest.mark.parametrize(
    "text", ['clave = "sin cerrar-ZQ\n', "clave = vieja-ZQ;\n", 'mysql: { clave = "a-ZQ";\n']
)
def test_a_file_that_does_not_parse_is_hidden_whole(text):
    assert mask_text(text) == UNREADABLE_FILE
    diff = unified_diff("/etc/janus/x.jcfg", text, 'clave = "b-ZQ";\n')
    assert "ZQ" not in diff


def test_scrub_hides_known_values_raw_escaped_and_by_line():
    key = "-----BEGIN KEY-----\nAAAAB3NzaC1yc2EAAAADAQABAAABAQ\n-----END KEY-----\n"
    text = 'echo: s3cr"t-1 / s3cr\\"t-1 / AAAAB3NzaC1yc2EAAAADAQABAAABAQ / abc'
    out = scrub(text, ['s3cr"t-1', key, "abc"])
    assert "s3cr" not in out and "AAAAB3" not in out
    assert out.endswith("abc")  # too short to scrub safely: masked by key instead


# --- files that are a secret as a whole (a private key) -------------------------------------


@pytest.mark.parametrize("kind", ["ec", "rsa"])
def test_a_private_key_file_shows_nothing_of_the_key_but_that_it_changed(kind):
    from nodes.push import unified_diff
    from tests.pki import new_pki

    pki = new_pki()
    old, new = pki.server("a.example.org", key_kind=kind), pki.server("a.example.org")
    masked = mask_text(old.key_pem, "secret")
    body = [line for line in old.key_pem.splitlines() if not line.startswith("-----")]
    assert not any(line in masked for line in body)
    assert masked.splitlines()[0] == old.key_pem.splitlines()[0]
    assert len(masked.splitlines()) == 3
    diff = unified_diff("/etc/apache2/ssl/a.key", old.key_pem, new.key_pem, syntax="secret")
    assert diff and "********" in diff
    assert not any(line in diff for line in body + new.key_pem.splitlines()[1:-1])
    assert unified_diff("/x.key", old.key_pem, old.key_pem, syntax="secret") == ""


def test_plain_files_are_shown_as_they_are():
    text = "ServerName webrtc.example.org\n# clave = no es un secreto aquí\n"
    assert mask_text(text, "plain") == text
