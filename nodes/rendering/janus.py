"""Renderers of janus's own files (manual 3.2.3): /etc/janus/janus.jcfg and
janus.consola.jcfg (server name, DTLS certificate, RTP range, NAT settings) and the HTTP and
WebSockets transports' files (their certificate).

The manual asks installers to replace the example domain by the server's domain in
``server_name`` and to leave the certificate paths blank. janus 1.x reads a key that is
present, even empty, as a path (``cert_pem = ""`` stops it at start: "Error opening
certificate file"), while an absent key means "none" to every build: the portal removes the
keys unless the node has its own certificate, and then writes its paths.
"""

from __future__ import annotations

from nodes.rendering.inputs import JanusConfig, JanusTransportConfig
from nodes.rendering.libconfig import Editor, parse_libconfig, values_named

TEMPLATE = """\
general: {
        server_name = ""
}

media: {
        rtp_port_range = ""
}

nat: {
        ignore_unreachable_ice_server = true
}
"""

# The transports' own defaults (janus's sample files), for a node that has none yet.
TRANSPORT_HTTP_TEMPLATE = """\
general: {
        json = "indented"
        base_path = "/janus"
        http = true
        port = 8088
        https = false
}

admin: {
        admin_base_path = "/admin"
        admin_http = false
        admin_https = false
}
"""
TRANSPORT_WEBSOCKETS_TEMPLATE = """\
general: {
        json = "indented"
        ws = true
        ws_port = 8188
        wss = false
}

admin: {
        admin_ws = false
        admin_wss = false
}
"""

_SERVER_NAME_PATH = ("general", "server_name")
_CERT_PEM_PATH = ("certificates", "cert_pem")
_CERT_KEY_PATH = ("certificates", "cert_key")
_RTP_RANGE_PATH = ("media", "rtp_port_range")
_NAT = "nat"


def rtp_port_range(config: JanusConfig) -> str:
    """media.rtp_port_range as janus reads it: "min-max"."""
    return f"{config.rtp_port_min}-{config.rtp_port_max}"


def _set_or_remove(editor: Editor, path: tuple[str, str], value: str | int | bool | None, *,
                   after: list[tuple[str, str]] = ()) -> None:  # fmt: skip
    if value is None or value == "":
        editor.remove_path(path)
    else:
        editor.set_path(path, value, after=after)


def _certificate_keys(cert_pem: str, cert_key: str) -> dict[str, str]:
    """The certificates group's managed keys: both paths, or none (one alone is no pair)."""
    return {"cert_pem": cert_pem, "cert_key": cert_key} if cert_pem and cert_key else {}


def _certificates_read_back(tree: dict, cert_pem: str, cert_key: str) -> bool:
    group = tree.get("certificates", {})
    found = {key: group[key] for key in ("cert_pem", "cert_key") if key in group}
    return found == _certificate_keys(cert_pem, cert_key)


def _certificates(editor: Editor, cert_pem: str, cert_key: str) -> None:
    if cert_pem and cert_key:
        editor.set_path(_CERT_PEM_PATH, cert_pem)
        editor.set_path(_CERT_KEY_PATH, cert_key, after=[_CERT_PEM_PATH])
    else:
        editor.remove_path(_CERT_PEM_PATH)
        editor.remove_path(_CERT_KEY_PATH)


def janus_nat_settings(config: JanusConfig) -> dict[str, str | int | bool]:
    """The nat group's managed keys and their values; a key not here is removed."""
    settings: dict[str, str | int | bool] = {"ignore_unreachable_ice_server": True}
    if config.stun_server:
        settings |= {"stun_server": config.stun_server, "stun_port": config.stun_port}
    if config.nat_1_1_mapping:
        settings |= {
            "nat_1_1_mapping": config.nat_1_1_mapping,
            "keep_private_host": config.keep_private_host,
        }
    if config.ice_enforce_list:
        settings["ice_enforce_list"] = config.ice_enforce_list
    return settings


NAT_MANAGED_KEYS = (
    "stun_server",
    "stun_port",
    "nat_1_1_mapping",
    "keep_private_host",
    "ignore_unreachable_ice_server",
    "ice_enforce_list",
)


def render_janus_jcfg(config: JanusConfig, existing: str | None = None) -> str:
    """The janus.jcfg (or janus.consola.jcfg) to push for ``config``.

    Without an existing file (``None`` or blank): :data:`TEMPLATE` with the managed values.
    With one, every byte is kept except: ``server_name`` is set wherever it is (in janus's own
    file, inside ``general``; added there if absent); ``certificates.cert_pem``/``cert_key``
    are removed, or set to the node's own paths; ``media.rtp_port_range`` is set; and the
    nat group's managed keys (:data:`NAT_MANAGED_KEYS`) are set or removed. Commented-out
    lines such as ``#server_name = ...`` are comments and stay as they are.
    """
    text = existing if existing is not None and existing.strip() else TEMPLATE
    editor = Editor(text)
    editor.set_named(_SERVER_NAME_PATH[1], config.server_name, default_path=_SERVER_NAME_PATH)
    _certificates(editor, config.cert_pem, config.cert_key)
    editor.set_path(_RTP_RANGE_PATH, rtp_port_range(config))
    nat = janus_nat_settings(config)
    previous: list[tuple[str, str]] = []
    for key in NAT_MANAGED_KEYS:
        path = (_NAT, key)
        _set_or_remove(editor, path, nat.get(key), after=list(reversed(previous)))
        previous.append(path)
    _verify(editor.text, config)
    return editor.text


def _verify(text: str, config: JanusConfig) -> None:
    tree = parse_libconfig(text)
    names = values_named(tree, "server_name")
    nat = tree.get(_NAT, {})
    if (
        not names
        or any(name != config.server_name for name in names)
        or not _certificates_read_back(tree, config.cert_pem, config.cert_key)
        or tree.get("media", {}).get("rtp_port_range") != rtp_port_range(config)
        or {k: nat[k] for k in NAT_MANAGED_KEYS if k in nat} != janus_nat_settings(config)
    ):
        raise RuntimeError("rendering bug: janus.jcfg does not read back as rendered")


def _render_transport(config: JanusTransportConfig, existing: str | None, template: str) -> str:
    text = existing if existing is not None and existing.strip() else template
    editor = Editor(text)
    _certificates(editor, config.cert_pem, config.cert_key)
    if not _certificates_read_back(parse_libconfig(editor.text), config.cert_pem, config.cert_key):
        raise RuntimeError("rendering bug: a janus transport file does not read back as rendered")
    return editor.text


def render_janus_transport_http(config: JanusTransportConfig, existing: str | None = None) -> str:
    """janus.transport.http.jcfg (manual 3.2.3 step 17): only its certificate keys are
    managed; without a file, janus's defaults (HTTP on 8088, /janus)."""
    return _render_transport(config, existing, TRANSPORT_HTTP_TEMPLATE)


def render_janus_transport_websockets(
    config: JanusTransportConfig, existing: str | None = None
) -> str:
    """janus.transport.websockets.jcfg (manual 3.2.3 step 18), as the HTTP transport's."""
    return _render_transport(config, existing, TRANSPORT_WEBSOCKETS_TEMPLATE)
