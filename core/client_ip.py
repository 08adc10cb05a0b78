"""The client address of a webfon login (pure functions).

The connection's address is the client unless it is one of the configured trusted proxies;
then X-Forwarded-For is read from the right, skipping trusted proxies, and the first other
hop is the client. A header from an untrusted peer is never read, so a client cannot claim
an exempt network; a malformed hop stops the walk at the last trusted one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_ip(value: str) -> IPAddress | None:
    """Strict parsing: a bare IPv4 or IPv6 address, nothing else (no port, no zone, no spaces
    inside, no leading zeros). IPv4-mapped IPv6 addresses count as their IPv4 address."""
    value = value.strip()
    if not value or any(c.isspace() for c in value) or "%" in value:
        return None
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def parse_networks(values: Iterable[str]) -> list[IPNetwork]:
    return [ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip()]


def _trusted(address: IPAddress, proxies: list[IPNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in proxies)


def client_ip(
    *, remote_addr: str, forwarded_for: str | None, trusted_proxies: list[IPNetwork]
) -> IPAddress | None:
    """The client's address, or None when the connection's own address is not parseable."""
    peer = parse_ip(remote_addr or "")
    if peer is None:
        return None
    if not forwarded_for or not _trusted(peer, trusted_proxies):
        return peer
    current = peer
    for hop in reversed(forwarded_for.split(",")):
        address = parse_ip(hop)
        if address is None:
            return current
        current = address
        if not _trusted(address, trusted_proxies):
            return address
    return current


def in_networks(address: IPAddress, networks: Iterable[IPNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in networks)
