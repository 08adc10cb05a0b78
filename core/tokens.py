"""API token keys: generation and digests (pure functions)."""

import hashlib
import secrets

from core.models import ApiToken


def new_token_key() -> str:
    """A random key: an 8-character public prefix, a dot, and 40 secret characters."""
    prefix = secrets.token_hex(ApiToken.PREFIX_LENGTH // 2)
    return f"{prefix}.{secrets.token_urlsafe(30)}"


def token_digest(key: str) -> str:
    # The key has ~240 bits of entropy, so a fast hash is enough (no brute force possible).
    return hashlib.sha256(key.encode()).hexdigest()


def token_prefix(key: str) -> str:
    return key.split(".", 1)[0][: ApiToken.PREFIX_LENGTH]
