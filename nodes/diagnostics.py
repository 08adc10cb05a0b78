"""Diagnostics of a node (manual §5.1 and §5.2): the supervision answers of serCen (port 1125)
and vivait-webfon (port 1122), a test e-mail through the node's SMTP settings and a TCP port
check. Parsing is pure; the network steps all have timeouts and never raise past here."""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid

from django.core.cache import cache
from django.utils.translation import gettext as _

from core.smtp import (
    SMTP_TIMEOUT_SECONDS,
    PlaintextAuthRefused,
    SmtpServer,
    smtp_reply,
    smtp_send,
)
from nodes.bans import node_bans
from nodes.models import Node
from nodes.push import open_transport
from nodes.transport import TransportError

PORT_CHECK_TIMEOUT_SECONDS = 5
BANNER_WAIT_SECONDS = 1.5
SUPERVISION_CONNECT_TIMEOUT = 5


# --- supervision answers ----------------------------------------------------------------------


@dataclass(frozen=True)
class StatusRow:
    """One ``key=value`` of a supervision line, e.g. ("sis", "ver", "00.01.04.1")."""

    module: str
    key: str
    value: str


# A key=value pair (the value quoted with '…' or up to the next blank), or a bare word.
_TOKEN = re.compile(r"(?P<key>[^\s=']+)=(?P<value>'[^']*'|[^\s']*)|(?P<word>'[^']*'|\S+)")


def _logical_lines(text: str) -> list[str]:
    """Lines of the answer, each beginning with the program's name ("serCen",
    "vivait-webfon"); a line that does not (a wrapped copy, as in the manual) continues the
    previous one."""
    lines: list[str] = []
    program = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        first = line.split(maxsplit=1)[0]
        if not program:
            program = first
        if first == program or not lines:
            lines.append(line)
        else:
            lines[-1] = f"{lines[-1]} {line}"
    return lines


def _clean(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == "'":
        value = value[1:-1]
    return " ".join(value.split())


def parse_supervision(text: str) -> list[StatusRow]:
    """The rows of a daemon's supervision answer (``nc localhost 1125`` / ``1122``).

    Each line is ``<program> <module> key=value key='quoted value' …``. A word without ``=``
    belongs to the value before it (``uptime=1009 (0d 0h 16m 49s)``, ``ultError=00000000
    000000``); one before any pair is shown with an empty key. Nothing is dropped."""
    rows: list[StatusRow] = []
    for line in _logical_lines(text):
        parts = line.split(maxsplit=2)
        module = parts[1] if len(parts) > 1 else ""
        rest = parts[2] if len(parts) > 2 else ""
        line_rows: list[list[str]] = []
        for match in _TOKEN.finditer(rest):
            if match.group("key") is not None:
                line_rows.append([match.group("key"), match.group("value")])
            elif line_rows:
                line_rows[-1][1] = f"{line_rows[-1][1]} {match.group('word')}"
            else:
                line_rows.append(["", match.group("word")])
        if not line_rows:
            line_rows.append(["", ""])
        rows.extend(StatusRow(module, key, _clean(value)) for key, value in line_rows)
    return rows


@dataclass
class ServiceStatus:
    """What one daemon's supervision port answered, or why it could not be read."""

    service: str
    port: int
    rows: list[StatusRow] = field(default_factory=list)
    raw: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass
class NodeDiagnostics:
    services: list[ServiceStatus]
    error: str = ""  # the node itself could not be reached

    @property
    def ok(self) -> bool:
        return not self.error and all(service.ok for service in self.services)


def node_supervision(*, node: Node) -> NodeDiagnostics:
    """serCen's and vivait-webfon's supervision answers, read on the node's loopback through
    one connection (SSH, or this machine for a local node). Never raises: a node that cannot be
    reached, or a port that does not answer, comes back as an error message."""
    services = [
        ServiceStatus("serCen", node.sercen_supervision_port),
        ServiceStatus("vivait-webfon", node.webfon_supervision_port),
    ]
    if node.transport == Node.Transport.SSH and not node.ssh_host_key:
        # A read must not trust a key on first use (a password would go to whoever answers).
        return NodeDiagnostics(
            services,
            error=_(
                "La clave de host SSH del nodo aún no está registrada: envíe la configuración "
                "una vez o escríbala en los ajustes del nodo."
            ),
        )
    try:
        transport = open_transport(node, connect_timeout=SUPERVISION_CONNECT_TIMEOUT)
    except (TransportError, ValueError) as exc:
        return NodeDiagnostics(services, error=str(exc))
    try:
        for service in services:
            try:
                service.raw = transport.query_port(service.port)
            except TransportError as exc:
                service.error = str(exc)
                continue
            service.rows = parse_supervision(service.raw)
    finally:
        transport.close()
    return NodeDiagnostics(services)


# --- SMTP test send (manual §5.1.1) -------------------------------------------------------------


@dataclass
class SmtpTestResult:
    """The exchange with the server, as ``curl -v`` shows it: ("<", reply) and (">", command)."""

    ok: bool
    transcript: list[tuple[str, str]]
    error: str = ""


def smtp_test_send(
    *,
    host: str,
    port: int,
    use_tls: bool,
    user: str,
    password: str,
    sender: str,
    to: str,
    allow_plaintext_auth: bool = False,
    timeout: float = SMTP_TIMEOUT_SECONDS,
) -> SmtpTestResult:
    """Send the manual's test message step by step and record every reply; never raises.

    SMTPS when ``use_tls``; otherwise STARTTLS when the server offers it. Certificates are
    verified (unlike the manual's ``curl --insecure``): a failure says so. Without TLS the
    password is not sent unless ``allow_plaintext_auth``."""
    transcript: list[tuple[str, str]] = []
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = f"Pruebas de correo para '{to}' desde '{sender}'"
    message["Message-ID"] = make_msgid(domain=host or None)
    message.set_content(
        "Esto es un mensaje de pruebas:\n"
        f"Desde: {sender}\nPara: {to}\nUrl: smtp{'s' if use_tls else ''}://{host}:{port}\n"
        f"Usuario: {user}\n"
    )
    server = SmtpServer(
        host=host,
        port=port,
        use_tls=use_tls,
        user=user,
        password=password,
        sender=sender,
        allow_plaintext_auth=allow_plaintext_auth,
    )
    try:
        smtp_send(server, message, to=to, transcript=transcript, timeout=timeout)
        return SmtpTestResult(ok=True, transcript=transcript)
    except smtplib.SMTPResponseException as exc:
        error = smtp_reply(exc.smtp_code, exc.smtp_error)
    except PlaintextAuthRefused as exc:
        error = str(exc)
    except smtplib.SMTPException as exc:
        error = str(exc) or type(exc).__name__
    except (OSError, ssl.SSLError) as exc:  # refused, unreachable, timed out, bad certificate
        error = str(exc) or type(exc).__name__
    except ValueError as exc:  # an address smtplib cannot encode
        error = str(exc)
    return SmtpTestResult(ok=False, transcript=transcript, error=error)


# --- port check (manual §5.1.2) ---------------------------------------------------------------


@dataclass
class PortCheckResult:
    host: str
    port: int
    open: bool
    banner: str = ""
    error: str = ""


def port_check(
    *, host: str, port: int, timeout: float = PORT_CHECK_TIMEOUT_SECONDS
) -> PortCheckResult:
    """Whether a TCP connection to host:port succeeds (``nc host port -nv``), with what the
    server says first, if anything, within a moment (an SMTP server's 220 greeting)."""
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        return PortCheckResult(host, port, open=False, error=str(exc) or type(exc).__name__)
    with sock:
        sock.settimeout(BANNER_WAIT_SECONDS)
        try:
            banner = sock.recv(1024).decode(errors="replace").strip()
        except OSError:
            banner = ""
    return PortCheckResult(host, port, open=True, banner=banner)


# --- the dashboard's live figures of a node -------------------------------------------------
LIVE_CACHE_SECONDS = 30


@dataclass(frozen=True)
class NodeLive:
    """What the dashboard shows of a WebRTC node now: the sessions vivait-webfon reports
    (``sesion max=… ocup=…``), or why they could not be read."""

    sessions_max: int | None = None
    sessions_in_use: int | None = None
    error: str = ""
    banned_now: int | None = None  # addresses fail2ban bans now (None: not read)


def sessions_reported(diagnostics: NodeDiagnostics) -> tuple[int | None, int | None]:
    """(max, ocup) of vivait-webfon's ``sesion`` line, None where absent or not a number."""
    values: dict[str, int | None] = {"max": None, "ocup": None}
    for service in diagnostics.services:
        if service.service != "vivait-webfon":
            continue
        for row in service.rows:
            if row.module == "sesion" and row.key in values and values[row.key] is None:
                values[row.key] = int(row.value) if row.value.isdigit() else None
    return values["max"], values["ocup"]


def node_live(*, node: Node) -> NodeLive:
    """The node's live figures, read through its connection at most every 30 s (cached, so
    the dashboard refreshing in several browsers does not open a connection each time)."""
    key = f"nodes.live.{node.pk}.{node.updated_at.timestamp() if node.updated_at else 0}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    diagnostics = node_supervision(node=node)
    sessions_max, in_use = sessions_reported(diagnostics)
    error = diagnostics.error
    if not error and sessions_max is None:
        error = next((s.error for s in diagnostics.services if s.error), "") or _(
            "vivait-webfon no informa de sus sesiones."
        )
    bans = node_bans(node=node)
    live = NodeLive(
        sessions_max=sessions_max,
        sessions_in_use=in_use,
        error=error,
        banned_now=None if bans.error else bans.banned_now,
    )
    cache.set(key, live, LIVE_CACHE_SECONDS)
    return live
