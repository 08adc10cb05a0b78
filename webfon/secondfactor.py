"""Second factor of a webfon login: e-mail PIN and TOTP codes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from email.message import EmailMessage

from django.conf import settings
from django.utils.translation import gettext as _

from core.smtp import SmtpServer, smtp_send


def new_pin(length: int) -> str:
    return "".join(str(secrets.randbelow(10)) for _ in range(length))


def pin_digest(pin: str, *, challenge_digest: str) -> str:
    """An HMAC of the PIN keyed by the server secret and salted with its challenge, so the
    table never holds a PIN and a digest is useless for another challenge."""
    key = hashlib.sha256(f"webfon-pin:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, f"{challenge_digest}:{pin}".encode(), hashlib.sha256).hexdigest()


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
    smtp_send(server, message, to=to)
