"""Who is asking: the client address of a staff request and the audit actor it makes."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from core.actors import Actor
from core.client_ip import client_ip, parse_networks


def request_client_ip(request: HttpRequest) -> str:
    """The client's address exactly as the webfon login takes it: the connection's, or the
    hop the right-most trusted proxy saw (WEBFON_TRUSTED_PROXIES); "" if unparseable."""
    address = client_ip(
        remote_addr=request.META.get("REMOTE_ADDR", ""),
        forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR"),
        trusted_proxies=parse_networks(settings.WEBFON_TRUSTED_PROXIES),
    )
    return "" if address is None else str(address)


def request_actor(request: HttpRequest) -> Actor:
    """The logged-in staff member of ``request``, with the client address."""
    return Actor.for_user(request.user, client_ip=request_client_ip(request) or None)
