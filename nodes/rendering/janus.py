"""Renderer of /etc/janus/janus.jcfg and /etc/janus/janus.consola.jcfg (manual 3.2.3).

The manual asks installers to replace the example domain by the server's domain in
``server_name`` and to leave the DTLS certificate paths blank (janus then generates a
self-signed certificate; TLS is terminated by the web server).
"""

from __future__ import annotations

from nodes.rendering.inputs import JanusConfig
from nodes.rendering.libconfig import Editor, parse_libconfig, values_named

TEMPLATE = """\
general: {
        server_name = ""
}

certificates: {
        cert_pem = ""
        cert_key = ""
}
"""

_SERVER_NAME_PATH = ("general", "server_name")
_CERT_PEM_PATH = ("certificates", "cert_pem")
_CERT_KEY_PATH = ("certificates", "cert_key")


def render_janus_jcfg(config: JanusConfig, existing: str | None = None) -> str:
    """The janus.jcfg (or janus.consola.jcfg) to push for ``config``.

    Without an existing file (``None`` or blank): :data:`TEMPLATE` with the server name. With
    one, every byte is kept except: ``server_name`` is set wherever it is (in janus's own file,
    inside ``general``; added there if absent) and ``certificates.cert_pem``/``cert_key`` are
    set to "" (added, with the group if needed). Commented-out lines such as
    ``#server_name = ...`` are comments and stay as they are.
    """
    text = existing if existing is not None and existing.strip() else TEMPLATE
    editor = Editor(text)
    editor.set_named(_SERVER_NAME_PATH[1], config.server_name, default_path=_SERVER_NAME_PATH)
    editor.set_path(_CERT_PEM_PATH, "")
    editor.set_path(_CERT_KEY_PATH, "", after=[_CERT_PEM_PATH])
    _verify(editor.text, config)
    return editor.text


def _verify(text: str, config: JanusConfig) -> None:
    tree = parse_libconfig(text)
    names = values_named(tree, "server_name")
    certificates = tree.get("certificates", {})
    if (
        not names
        or any(name != config.server_name for name in names)
        or certificates.get("cert_pem") != ""
        or certificates.get("cert_key") != ""
    ):
        raise RuntimeError("rendering bug: janus.jcfg does not read back as rendered")
