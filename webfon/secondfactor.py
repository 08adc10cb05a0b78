"""Second factor of a webfon login: e-mail PIN and TOTP codes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

from django.conf import settings
from django.utils.translation import gettext as _

from core.smtp import check_auth_allowed

SMTP_TIMEOUT_SECONDS = 10


def new_pin(length: int) -> str:
    return "".join(str(secrets.randbelow(10)) for _ in range(length))


def pin_digest(pin: str, *, challenge_digest: str) -> str:
    """An HMAC of the PIN keyed by the server secret and salted with its challenge, so the
    table never holds a PIN and a digest is useless for another challenge."""
    key = hashlib.sha256(f"webfon-pin:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, f"{challenge_digest}:{pin}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SmtpServer:
    """Where PIN e-mails go out: a node's serCen SMTP settings."""

    host: str
    port: int
    use_tls: bool
    user: str
    password: str
    sender: str
    allow_plaintext_auth: bool = False  # the node's explicit opt-in to AUTH without TLS


def send_pin_email(*, server: SmtpServer, to: str, account: str, pin: str, valid_seconds: int):
    """Send the PIN; raises smtplib.SMTPException or OSError when the server refuses or is
    unreachable (every step has a timeout), PlaintextAuthRefused (an SMTPException) before
    sending the password over a connection without TLS the node does not allow."""
    message = EmailMessage()
    message["From"] = server.sender
    message["To"] = to
    message["Subject"] = _("PIN de acceso a VIVAit Call")
    message.set_content(
        _(
            "Hola %(account)s:\n\nSu PIN de acceso a VIVAit Call Web es %(pin)s.\n"
            "Caduca en %(minutes)d minutos y solo sirve una vez.\n\n"
            "Si no ha intentado entrar, avise a su administrador."
        )
        % {"account": account, "pin": pin, "minutes": max(1, valid_seconds // 60)}
    )
    if server.use_tls:
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            server.host,
            server.port,
            timeout=SMTP_TIMEOUT_SECONDS,
            context=ssl.create_default_context(),
        )
    else:
        client = smtplib.SMTP(server.host, server.port, timeout=SMTP_TIMEOUT_SECONDS)
    with client:
        if not server.use_tls:
            client.ehlo()
            if client.has_extn("starttls"):
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
        if server.user:
            check_auth_allowed(
                client,
                host=server.host,
                port=server.port,
                allow_plaintext_auth=server.allow_plaintext_auth,
            )
            client.login(server.user, server.password)
        client.send_message(message)
