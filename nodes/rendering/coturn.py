"""Renderer of coturn's /etc/turnserver.conf when the portal manages the node's TURN server.

The portal owns the whole file (``key=value`` lines, flags alone): TURN REST-API credentials
(``use-auth-secret`` + ``static-auth-secret``, the secret the portal signs browsers'
short-lived credentials with), the listening ports, the relay range the node's firewall opens
(manual §3.2.7, commented there), and the certificate when TLS is on.
"""

from __future__ import annotations

from nodes.rendering.inputs import TurnServerConfig

HEADER = (
    "# /etc/turnserver.conf: written by the VIVAit Call portal (node settings, TURN).\n"
    "# Changes made here are replaced at the next push.\n"
)


def render_turnserver_conf(config: TurnServerConfig, existing: str | None = None) -> str:
    """The whole turnserver.conf for ``config`` (``existing`` is replaced)."""
    lines = [
        f"listening-port={config.listening_port}",
        f"tls-listening-port={config.tls_listening_port}",
    ]
    if config.listening_ip:
        lines.append(f"listening-ip={config.listening_ip}")
    if config.external_ip:
        lines.append(f"external-ip={config.external_ip}")
    lines += [
        f"min-port={config.min_port}",
        f"max-port={config.max_port}",
        "fingerprint",
        "use-auth-secret",
        f"static-auth-secret={config.static_auth_secret}",
        f"realm={config.realm}",
    ]
    if config.tls:
        lines += [f"cert={config.cert}", f"pkey={config.pkey}"]
    else:
        lines += ["no-tls", "no-dtls"]
    lines += ["no-cli", "no-multicast-peers"]
    return HEADER + "".join(f"{line}\n" for line in lines)


def parse_turnserver_conf(text: str) -> dict[str, str | bool]:
    """``key=value`` lines as a dict (a flag alone is ``True``); comments and blanks skipped."""
    values: dict[str, str | bool] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        values[key.strip()] = value.strip() if sep else True
    return values
