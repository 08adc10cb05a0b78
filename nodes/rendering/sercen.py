"""Renderer of /etc/MDtel/serCen.conf, the config of the serCen web-services daemon.

The manual (3.2.2, 7.6.4) only shows the keys installers edit, indented as if inside a group,
and names ``ws_implementacion / clave_caduca_dias``. So an existing file is edited in place:
each managed key gets its new value wherever it is, whatever group holds it, and nothing else
changes. When there is no file the portal writes :data:`TEMPLATE`: the manual's keys at the top
level, indented and commented as in the manual, plus the ``ws_implementacion`` group.
"""

from __future__ import annotations

import re

from nodes.rendering.inputs import SerCenConfig
from nodes.rendering.libconfig import Editor, Scalar, parse_libconfig, values_named

F1FACTOR_MIN_PAIRS = 4
"""The manual always shows f1factor_00 to f1factor_03; blank pairs mean "always ask"."""

_F1FACTOR_RE = re.compile(r"f1factor_[0-9]+_(?:ip|msk)")
_CLAVE_CADUCA_PATH = ("ws_implementacion", "clave_caduca_dias")

TEMPLATE = """\
# /etc/MDtel/serCen.conf, written by the VIVAit Call portal because the node had none.
# The portal sets the keys below on every push and keeps anything else added to this file.

# Mail server that sends second-factor PINs
        smtps_usa = false
        smtp_host = ""
        smtp_puerto = 25
        smtp_usuario = ""
        smtp_clave = ""

# Networks from which no second factor is asked (blank = always ask)
        f1factor_00_ip = ""
        f1factor_00_msk = ""
        f1factor_01_ip = ""
        f1factor_01_msk = ""
        f1factor_02_ip = ""
        f1factor_02_msk = ""
        f1factor_03_ip = ""
        f1factor_03_msk = ""

# Rooms reachable by phone
        vivait_meet_prefijo_min = 5
        vivait_meet_prefijo = "vivaitcall_"
        vivait_meet_dnis = "9999"

# Days an expired password can still be changed; 0 = never expires
ws_implementacion: {
        clave_caduca_dias = 0
}
"""


def f1factor_keys(index: int) -> tuple[str, str]:
    """The (ip, mask) key names of exempt network number ``index`` (00, 01, ...)."""
    return f"f1factor_{index:02d}_ip", f"f1factor_{index:02d}_msk"


def managed_values(config: SerCenConfig) -> dict[str, Scalar]:
    """Every managed top-level-style key with its value, in file order.

    ``clave_caduca_dias`` is not included: it lives in ``ws_implementacion``.
    """
    values: dict[str, Scalar] = {
        "smtps_usa": config.smtps_usa,
        "smtp_host": config.smtp_host,
        "smtp_puerto": config.smtp_puerto,
        "smtp_usuario": config.smtp_usuario,
        "smtp_clave": config.smtp_clave,
    }
    networks = config.exempt_networks
    for index in range(max(F1FACTOR_MIN_PAIRS, len(networks))):
        ip, mask = networks[index] if index < len(networks) else ("", "")
        ip_key, mask_key = f1factor_keys(index)
        values[ip_key] = ip
        values[mask_key] = mask
    values["vivait_meet_prefijo_min"] = config.vivait_meet_prefijo_min
    values["vivait_meet_prefijo"] = config.vivait_meet_prefijo
    values["vivait_meet_dnis"] = config.vivait_meet_dnis
    return values


def render_sercen_conf(config: SerCenConfig, existing: str | None = None) -> str:
    """The serCen.conf to push for ``config``.

    Without an existing file (``None`` or blank): :data:`TEMPLATE` with the config's values.
    With one, every byte is kept except the managed values:

    * each managed key is set wherever it is found (every occurrence, any group);
    * a missing one is added on the line after the nearest managed key that precedes it in
      :func:`managed_values` order (so a new f1factor pair follows the last one), else before
      the nearest following one, in that key's group and style; with none at all, at the end
      of the file; ``clave_caduca_dias`` goes into ``ws_implementacion``, appended if missing;
    * f1factor pairs beyond the ones needed are blanked, never deleted.
    """
    text = existing if existing is not None and existing.strip() else TEMPLATE
    editor = Editor(text)
    values = managed_values(config)
    names = list(values)
    for position, (name, value) in enumerate(values.items()):
        editor.set_named(
            name,
            value,
            default_path=(name,),
            after_names=names[:position][::-1],
            before_names=names[position + 1 :],
        )
    extra = [
        setting
        for setting in editor.settings
        if setting.named_path
        and _F1FACTOR_RE.fullmatch(setting.name)
        and setting.name not in values
    ]
    editor.replace(extra, '""')
    editor.set_named(
        _CLAVE_CADUCA_PATH[1], config.clave_caduca_dias, default_path=_CLAVE_CADUCA_PATH
    )
    _verify(editor.text, config)
    return editor.text


def _verify(text: str, config: SerCenConfig) -> None:
    tree = parse_libconfig(text)
    expected = managed_values(config) | {_CLAVE_CADUCA_PATH[1]: config.clave_caduca_dias}
    for name, value in expected.items():
        found = values_named(tree, name)
        if not found or any(v != value or type(v) is not type(value) for v in found):
            raise RuntimeError(f"rendering bug: {name} reads back as {found!r}")
