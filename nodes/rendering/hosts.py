"""Renderer of the FONBO line of the WebRTC node's ``/etc/hosts`` (manual §3.2.6):
``<ip> BDTR BDHIST <corporate node name> FONBO``, the names serCen, janus's plugin and the
Apache site use to reach the corporate node.

The portal owns one marked block; every other line stays byte for byte. A file without the
block but with a hand-written line naming ``FONBO`` (an installation made by the manual) has
that line replaced in place by the block, so the node never holds two answers for FONBO;
otherwise the block is appended. Pure functions, no Django.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

BEGIN = "# BEGIN VIVAit Call: gestionado por el portal, no editar"
END = "# END VIVAit Call"
FIXED_NAMES = ("BDTR", "BDHIST")
FONBO = "FONBO"

_HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.\-]{0,251}[A-Za-z0-9])?\Z")


@dataclass(frozen=True, kw_only=True)
class HostsConfig:
    corporate_address: str  # the corporate node's address on the voice network
    corporate_name: str  # its host name (manual: VC-corp-zonaejemplo)

    def __post_init__(self) -> None:
        ipaddress.ip_address(self.corporate_address)  # ValueError: a rendering input bug
        if not _HOSTNAME.match(self.corporate_name):
            raise ValueError(
                f"HostsConfig.corporate_name is not a host name: {self.corporate_name!r}"
            )

    def line(self) -> str:
        names = " ".join([*FIXED_NAMES, self.corporate_name, FONBO])
        return f"{self.corporate_address} {names}"


def _names(line: str) -> list[str]:
    content = line.split("#", 1)[0].split()
    return content[1:]


def render_hosts(config: HostsConfig, existing: str | None = None) -> str:
    """/etc/hosts with the portal's block (see the module's docstring)."""
    text = existing or ""
    lines = text.splitlines(keepends=True)
    eol = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += eol
    block = [f"{BEGIN}{eol}", f"{config.line()}{eol}", f"{END}{eol}"]
    stripped = [line.rstrip("\r\n") for line in lines]
    if BEGIN in stripped:
        start = stripped.index(BEGIN)
        end = stripped.index(END, start) if END in stripped[start:] else start
        lines[start : end + 1] = block
    else:
        legacy = next(
            (i for i, line in enumerate(lines) if FONBO in _names(line)),
            None,
        )
        if legacy is not None:
            lines[legacy : legacy + 1] = block
        else:
            lines.extend(block)
    rendered = "".join(lines)
    _verify(rendered, config)
    return rendered


def fonbo_lines(text: str) -> list[str]:
    """The active lines of ``text`` that name FONBO."""
    return [line.strip() for line in text.splitlines() if FONBO in _names(line)]


def _verify(text: str, config: HostsConfig) -> None:
    if fonbo_lines(text) != [config.line()]:
        raise RuntimeError(f"rendering bug: /etc/hosts names FONBO as {fonbo_lines(text)!r}")
