"""TURN credentials for browsers in coturn's REST-API scheme (``use-auth-secret``).

The username is ``<expiry unix time>:<account>`` and the credential
``base64(HMAC-SHA1(secret, username))``: coturn, holding the same secret, recomputes it and
refuses the pair once the expiry has passed. Janus-based clients hand them to
``RTCPeerConnection`` as ``iceServers``. The secret itself never leaves the portal.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass


@dataclass(frozen=True)
class TurnCredentials:
    username: str
    credential: str


def turn_rest_credentials(
    *, secret: str, account: str, lifetime: int, now: float
) -> TurnCredentials:
    """Credentials valid until ``now + lifetime`` (seconds since the epoch)."""
    username = f"{int(now) + lifetime}:{account}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return TurnCredentials(username=username, credential=base64.b64encode(digest).decode())
