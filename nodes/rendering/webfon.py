"""Renderer of /etc/janus/vivait.plugin.webfon.jcfg, the vivait-webfon janus plugin's config."""

from __future__ import annotations

from nodes.rendering.inputs import WebfonPluginConfig
from nodes.rendering.libconfig import INDENT, Editor, Scalar, format_value, parse_libconfig

# Every section and key of the manual's file (5.2.4), in its order, with the manual's values.
# A file rendered without an existing one is exactly this, with the managed keys' values
# taken from the config. Unmanaged keys of an existing file are never touched.
REFERENCE_LAYOUT: tuple[tuple[str, tuple[tuple[str, Scalar], ...]], ...] = (
    ("debug", (("lock_debug", False), ("refcount_debug", False))),
    (
        "sesion",
        (
            ("local_nodo_id", 4),
            ("sesiones_max", 25),
            ("conferencias_max", 100),
            ("lineas_disp_defecto", 2),
            ("conferencias_disp_defecto", 1),
            ("conferencias_beep_arch", "/etc/janus/beep.sln"),
            ("conferencias_beep_defecto_segs", 30),
            ("colas_limpiar_siempre", True),
            ("message_control_dest", "control"),
        ),
    ),
    ("mensaje", (("mensajes_max", 8),)),
    (
        "mysql",
        (
            ("num_conx", 2),
            ("num_cmd", 8),
            ("host", "BDTR"),
            ("usuario", "nimitz"),
            ("clave", ""),
            ("base_datos", "nimitz"),
            ("charset", "utf8mb4"),
        ),
    ),
    ("supervision", (("hay_spv", True), ("local_ip", "0.0.0.0"), ("puerto_escucha", 1122))),  # noqa: S104
    (
        "sip",
        (
            ("video", False),
            ("datos", False),
            ("max_dispositivos", 25),
            ("local_ip", ""),
            ("registro_ttl_segs", 3600),
            ("latido_segs", 0),
            ("max_digi_llam_sal", 10),
            ("user_agent", "vivait-webfon"),
            ("destino_buzon_dejar_msj", "***%s"),
        ),
    ),
    (
        "media",
        (
            ("media_max", 500),
            ("rtp_min_puerto", 11000),
            ("rtp_max_puerto", 11999),
            ("audio_rtp_dscp", 0),
            ("video_rtp_dscp", 0),
            ("datos_rtp_dscp", 0),
            ("dtmf_info", False),
            ("dtmf_rtp_pt", 101),
            ("dtmf_info_durac_ms", 100),
            ("audio_codec", "pcma"),
            ("video_codec_0", "h264"),
            ("video_rtp_pt_codec_0", 107),
        ),
    ),
)

# (section, key) -> field of WebfonPluginConfig, in file order.
MANAGED_KEYS: dict[tuple[str, str], str] = {
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


def _template() -> str:
    sections = []
    for section, keys in REFERENCE_LAYOUT:
        lines = "".join(f"{INDENT}{key} = {format_value(value)}\n" for key, value in keys)
        sections.append(f"{section}: {{\n{lines}}}\n")
    return "\n".join(sections)


TEMPLATE = _template()


def managed_values(config: WebfonPluginConfig) -> dict[tuple[str, str], Scalar]:
    """The value of every managed (section, key) for ``config``."""
    return {path: getattr(config, attribute) for path, attribute in MANAGED_KEYS.items()}


def _neighbours(section: str, key: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The keys before ``key`` in the manual's section (nearest first) and those after it."""
    keys = [name for name, _value in dict(REFERENCE_LAYOUT)[section]]
    index = keys.index(key)
    before = [(section, name) for name in reversed(keys[:index])]
    return before, [(section, name) for name in keys[index + 1 :]]


def render_webfon_plugin(config: WebfonPluginConfig, existing: str | None = None) -> str:
    """The vivait.plugin.webfon.jcfg to push for ``config``.

    Without an existing file (``None`` or blank), the manual's file with the managed values.
    With one, only the managed values change: every other byte is kept; a missing managed key
    is added next to the keys around it in the manual's section (after the nearest preceding
    one, else before the nearest following one, else at the end of the section, which is
    appended to the file if missing).
    """
    text = existing if existing is not None and existing.strip() else TEMPLATE
    editor = Editor(text)
    for (section, key), value in managed_values(config).items():
        preceding, following = _neighbours(section, key)
        editor.set_path((section, key), value, after=preceding, before=following)
    _verify(editor.text, config)
    return editor.text


def _verify(text: str, config: WebfonPluginConfig) -> None:
    values = parse_libconfig(text)
    for (section, key), expected in managed_values(config).items():
        found = values.get(section, {}).get(key)
        if found != expected or type(found) is not type(expected):
            raise RuntimeError(f"rendering bug: {section}.{key} reads back as {found!r}")
