"""A real SMTP server on loopback (aiosmtpd) that keeps the messages it receives."""

from __future__ import annotations

import email
import re
import socket
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


@dataclass
class Mailbox:
    messages: list[email.message.Message] = field(default_factory=list)
    # Every AUTH attempt the server received, as (login, password): what reached it.
    logins: list[tuple[str, str]] = field(default_factory=list)
    connections: int = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.connections += 1
        session.host_name = hostname
        return responses

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=True)

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def last_pin(self) -> str:
        body = self.messages[-1].get_payload(decode=True).decode()
        return re.search(r"PIN de acceso a VIVAit Call Web es (\d+)", body).group(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_smtp_server(
    *, auth: bool = False, host: str = "127.0.0.1", port: int | None = None
) -> tuple[Controller, Mailbox]:
    """A server on ``host`` (127.0.0.2 is another host for a test). With ``auth`` it offers
    AUTH PLAIN/LOGIN on the plain connection (no STARTTLS) and records every login."""
    mailbox = Mailbox()
    options = {}
    if auth:
        options = {"authenticator": mailbox.authenticate, "auth_require_tls": False}
    controller = Controller(mailbox, hostname=host, port=port or free_port(), **options)
    controller.start()
    return controller, mailbox
