"""Rules shared by every SMTP client of the portal (the webfon PIN e-mails, "Probar SMTP")."""

from __future__ import annotations

import smtplib
import ssl

from django.utils.translation import gettext as _


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
