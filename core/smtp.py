"""The portal's one SMTP client: the webfon PIN e-mails and the nodes' "Probar SMTP" both send
through smtp_send (connection, TLS, the plaintext-AUTH rule, the exchange)."""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage

from django.utils.translation import gettext as _

SMTP_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class SmtpServer:
    """Where an e-mail goes out: a node's serCen SMTP settings."""

    host: str
    port: int
    use_tls: bool
    user: str
    password: str
    sender: str
    allow_plaintext_auth: bool = False  # the node's explicit opt-in to AUTH without TLS


class PlaintextAuthRefused(smtplib.SMTPException):
    """The server offers no TLS and the node does not allow sending its password in clear."""


def check_auth_allowed(
    client: smtplib.SMTP, *, host: str, port: int, allow_plaintext_auth: bool
) -> None:
    """Raise PlaintextAuthRefused before AUTH on a connection that is not encrypted (no SMTPS,
    no STARTTLS offered), unless the node explicitly allows it: the password would otherwise
    cross the network in clear, readable by anyone on the path."""
    if isinstance(client.sock, ssl.SSLSocket) or allow_plaintext_auth:
        return
    raise PlaintextAuthRefused(
        _(
            "El servidor SMTP %(server)s no ofrece STARTTLS ni SMTPS: no se envía la contraseña "
            "sin cifrar. Use un servidor con TLS o marque «permitir autenticación SMTP sin TLS» "
            "en el nodo."
        )
        % {"server": f"{host}:{port}"}
    )


def smtp_reply(code: int, message: bytes | str) -> str:
    """A server reply on one line: "250 OK / more"."""
    text = message.decode(errors="replace") if isinstance(message, bytes) else message
    return f"{code} {' / '.join(text.splitlines())}".strip()


def smtp_send(
    server: SmtpServer,
    message: EmailMessage,
    *,
    to: str,
    transcript: list[tuple[str, str]] | None = None,
    timeout: float = SMTP_TIMEOUT_SECONDS,
) -> None:
    """Send ``message`` to ``to`` through ``server``, step by step.

    SMTPS when ``use_tls``; otherwise STARTTLS when the server offers it; certificates are
    verified. Without TLS the password is not sent unless the server allows plaintext AUTH
    (PlaintextAuthRefused). Every command and reply is appended to ``transcript`` when given
    (">" command, "<" reply, "*" connection), as ``curl -v`` shows them. Raises
    smtplib.SMTPException (a refusal: SMTPResponseException with the code), OSError/ssl.SSLError
    (refused, unreachable, timed out, bad certificate); an address smtplib cannot encode is an
    SMTPNotSupportedError."""
    log = transcript if transcript is not None else []

    def step(command: str, code: int, reply: bytes | str, expected: tuple[int, ...]) -> None:
        if command:
            log.append((">", command))
        log.append(("<", smtp_reply(code, reply)))
        if code not in expected:
            raise smtplib.SMTPResponseException(code, reply)

    context = ssl.create_default_context()
    client: smtplib.SMTP = (
        smtplib.SMTP_SSL(timeout=timeout, context=context)
        if server.use_tls
        else smtplib.SMTP(timeout=timeout)
    )
    try:
        log.append(("*", f"{server.host}:{server.port}{' (SMTPS)' if server.use_tls else ''}"))
        code, banner = client.connect(server.host, server.port)
        step("", code, banner, (220,))
        step("EHLO", *client.ehlo(), (250,))
        if not server.use_tls and client.has_extn("starttls"):
            step("STARTTLS", *client.starttls(context=context), (220,))
            step("EHLO", *client.ehlo(), (250,))
        if server.user:
            check_auth_allowed(
                client,
                host=server.host,
                port=server.port,
                allow_plaintext_auth=server.allow_plaintext_auth,
            )
            log.append((">", f"AUTH {server.user} ********"))
            code, reply = client.login(server.user, server.password)
            log.append(("<", smtp_reply(code, reply)))
        step(f"MAIL FROM:<{server.sender}>", *client.mail(server.sender), (250,))
        step(f"RCPT TO:<{to}>", *client.rcpt(to), (250, 251))
        step("DATA", *client.data(message.as_bytes(policy=policy.SMTP)), (250,))
        # The message is accepted; how the server says goodbye does not change that.
        with contextlib.suppress(smtplib.SMTPException, OSError):
            log.append((">", "QUIT"))
            log.append(("<", smtp_reply(*client.quit())))
    except UnicodeEncodeError as exc:
        # An address smtplib cannot send without SMTPUTF8: a refusal like any other (an
        # SMTPException), never an error of the caller's request.
        raise smtplib.SMTPNotSupportedError(str(exc)) from exc
    finally:
        with contextlib.suppress(OSError):
            client.close()
