"""fail2ban on a WebRTC node (manual §5.2.5): each jail's failed and banned counts and the
banned addresses, read with ``fail2ban-client status`` through the node's connection (its
configuration directory, so its own socket). Parsing is pure; reading never raises."""

from __future__ import annotations

import ipaddress
import re
import shlex
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from nodes.models import Node
from nodes.push import open_transport
from nodes.transport import TransportError

CONNECT_TIMEOUT = 5
_LINE = re.compile(r"^[\s|`-]*(?P<key>[A-Za-z][A-Za-z ]*?):\s*(?P<value>.*)$")


@dataclass(frozen=True)
class JailStatus:
    name: str
    currently_failed: int
    total_failed: int
    currently_banned: int
    total_banned: int
    banned: list[str]


@dataclass
class NodeBans:
    jails: list[JailStatus] = field(default_factory=list)
    error: str = ""

    @property
    def banned_now(self) -> int:
        return sum(jail.currently_banned for jail in self.jails)


def _fields(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        match = _LINE.match(line)
        if match:
            values[match.group("key").strip().lower()] = match.group("value").strip()
    return values


def parse_jail_list(text: str) -> list[str]:
    """The jails of ``fail2ban-client status`` (``Jail list:  serCen, vivait-janus``)."""
    listed = _fields(text).get("jail list", "")
    return [name.strip() for name in listed.split(",") if name.strip()]


def _count(values: dict[str, str], key: str) -> int:
    value = values.get(key, "0")
    return int(value) if value.isdigit() else 0


def parse_jail_status(name: str, text: str) -> JailStatus:
    """``fail2ban-client status <jail>``: the filter's and the actions' counters."""
    values = _fields(text)
    return JailStatus(
        name=name,
        currently_failed=_count(values, "currently failed"),
        total_failed=_count(values, "total failed"),
        currently_banned=_count(values, "currently banned"),
        total_banned=_count(values, "total banned"),
        banned=values.get("banned ip list", "").split(),
    )


def fail2ban_client(node: Node, *args: str) -> str:
    """The command line of ``fail2ban-client`` on the node, with its configuration directory."""
    return shlex.join(["fail2ban-client", "-c", node.fail2ban_dir, *args])


def open_fail2ban_node(node: Node):
    """(transport, "") to the node, or (None, why not): only a WebRTC node, and over SSH only
    to a recorded host key (a read must not trust a key on first use)."""
    if node.kind != Node.Kind.WEBRTC:
        return None, _("Solo los nodos Webrtc tienen fail2ban.")
    if node.transport == Node.Transport.SSH and not node.ssh_host_key:
        return None, _(
            "La clave de host SSH del nodo aún no está registrada: envíe la configuración "
            "una vez o escríbala en los ajustes del nodo."
        )
    try:
        return open_transport(node, connect_timeout=CONNECT_TIMEOUT), ""
    except (TransportError, ValueError) as exc:
        return None, str(exc)


def node_bans(*, node: Node) -> NodeBans:
    """Every jail's status on the node, or why it could not be read."""
    transport, error = open_fail2ban_node(node)
    if transport is None:
        return NodeBans(error=error)
    try:
        listed = transport.run(fail2ban_client(node, "status"))
        if not listed.ok:
            return NodeBans(error=(listed.stderr or listed.stdout).strip()[:500])
        jails = []
        for name in parse_jail_list(listed.stdout):
            status = transport.run(fail2ban_client(node, "status", name))
            if status.ok:
                jails.append(parse_jail_status(name, status.stdout))
        return NodeBans(jails=jails)
    except TransportError as exc:
        return NodeBans(error=str(exc))
    finally:
        transport.close()


def unban_command(node: Node, *, ip: str | None) -> str:
    """``unban <ip>`` (every jail) or ``unban --all``; ``ip`` must already be an address."""
    if ip is None:
        return fail2ban_client(node, "unban", "--all")
    return fail2ban_client(node, "unban", str(ipaddress.ip_address(ip)))
