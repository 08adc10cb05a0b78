"""Small helpers shared by the tests of the users app."""

import json
import time
from urllib.parse import parse_qs, urlparse

import pyotp

from core.models import AuditEntry
from extensions.models import Extension
from users.models import LdapSettings, PortalUser, SecondFactorExemptNetwork


def audit_text() -> str:
    """Everything stored in the audit trail, as one string, to look for leaked secrets."""
    rows = AuditEntry.objects.values_list("object_repr", "changes")
    return "\n".join(
        f"{repr_} {json.dumps(changes, ensure_ascii=False)}" for repr_, changes in rows
    )


def only_message(exc, field: str) -> str:
    """The single message of ``field`` in a ValidationError keyed by field."""
    messages = exc.message_dict[field]
    assert len(messages) == 1, messages
    return messages[0]


def secret_from_uri(uri: str) -> str:
    return parse_qs(urlparse(uri).query)["secret"][0]


def wrong_totp_code(secret: str) -> str:
    """A six-digit code that is not valid for ``secret`` around now (two periods either side)."""
    totp = pyotp.TOTP(secret)
    now = time.time()
    valid = {totp.at(now + delta) for delta in (-60, -30, 0, 30, 60)}
    for candidate in ("000000", "111111", "123456", "654321", "999999", "424242"):
        if candidate not in valid:
            return candidate
    raise AssertionError("unreachable: six codes cannot all be valid")


def row_counts() -> dict[str, int]:
    """Rows of the tables a user-related write may touch, to prove a refusal saved nothing."""
    return {
        "users": PortalUser.objects.count(),
        "networks": SecondFactorExemptNetwork.objects.count(),
        "ldap": LdapSettings.objects.count(),
        "extensions": Extension.objects.count(),
        "audit": AuditEntry.objects.count(),
    }
