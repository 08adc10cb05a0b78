"""Renderer of the WebRTC node's firewall variables, ``/etc/firewall/vars.sh`` (manual
§3.2.7). ``firewall.sh`` (the iptables rules, "NO TOCAR") is never written: it reads these.

The six ``export NAME=value`` lines are set where they are (a missing one is appended); every
other line stays byte for byte, as the manual has installers paste the block at the end of
their own file. Pure functions, no Django.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

HEADER = "#!/bin/bash\n"
_INTERFACE = re.compile(r"^[A-Za-z0-9_.:\-]{1,15}\Z")
_EXPORT = re.compile(
    r"^(?P<lead>\s*export\s+)(?P<name>[A-Z_][A-Z0-9_]*)=(?P<value>[^\s#;]*)(?P<rest>.*?)(?P<end>\r?\n?)\Z"
)


@dataclass(frozen=True, kw_only=True)
class FirewallVars:
    eth_lan: str
    ip_lan: str
    red_lan: str
    eth_dmz: str
    ip_dmz: str
    red_dmz: str

    def __post_init__(self) -> None:
        for name in ("eth_lan", "eth_dmz"):
            if not _INTERFACE.match(getattr(self, name)):
                raise ValueError(f"FirewallVars.{name} is not an interface name")
        for name in ("ip_lan", "ip_dmz"):
            ipaddress.ip_address(getattr(self, name))
        for name in ("red_lan", "red_dmz"):
            ipaddress.ip_network(getattr(self, name), strict=True)

    def exports(self) -> list[tuple[str, str]]:
        return [(name.upper(), value) for name, value in vars(self).items()]


def render_firewall_vars(config: FirewallVars, existing: str | None = None) -> str:
    """vars.sh for ``config`` (see the module's docstring)."""
    text = existing if existing is not None and existing.strip() else HEADER
    lines = text.splitlines(keepends=True)
    eol = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += eol
    wanted = dict(config.exports())
    seen: set[str] = set()
    for index, line in enumerate(lines):
        match = _EXPORT.match(line)
        if match and match.group("name") in wanted:
            name = match.group("name")
            seen.add(name)
            lines[index] = (
                f"{match.group('lead')}{name}={wanted[name]}{match.group('rest')}"
                f"{match.group('end') or eol}"
            )
    lines.extend(
        f"export {name}={value}{eol}" for name, value in wanted.items() if name not in seen
    )
    rendered = "".join(lines)
    _verify(rendered, config)
    return rendered


def exported_values(text: str) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for line in text.splitlines():
        match = _EXPORT.match(line)
        if match:
            values.setdefault(match.group("name"), []).append(match.group("value"))
    return values


def _verify(text: str, config: FirewallVars) -> None:
    values = exported_values(text)
    for name, value in config.exports():
        if values.get(name) != [value] and set(values.get(name, [])) != {value}:
            raise RuntimeError(f"rendering bug: vars.sh exports {name} as {values.get(name)!r}")
