"""Symmetric encryption of secrets that must be recoverable (SIP secrets, TOTP seeds,
LDAP and SMTP passwords). Passwords of people are hashed instead, never encrypted."""

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _derived_key(secret: str) -> bytes:
    digest = hashlib.sha256(b"vivait-portal-field-encryption\x00" + secret.encode()).digest()
    return base64.urlsafe_b64encode(digest)


@lru_cache(maxsize=4)
def _fernet(field_key: str, secret_key: str) -> MultiFernet:
    keys = []
    if field_key:
        for raw in field_key.split(","):
            try:
                keys.append(Fernet(raw.strip().encode()))
            except ValueError:
                raise ImproperlyConfigured(
                    "FIELD_ENCRYPTION_KEY must be 32 url-safe base64-encoded bytes "
                    "(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')."
                ) from None
    # The key derived from SECRET_KEY stays readable so secrets saved before a
    # FIELD_ENCRYPTION_KEY was set can still be decrypted (and re-encrypted on save).
    keys.append(Fernet(_derived_key(secret_key)))
    return MultiFernet(keys)


def _cipher() -> MultiFernet:
    return _fernet(settings.FIELD_ENCRYPTION_KEY, settings.SECRET_KEY)


def encrypt(plaintext: str) -> str:
    return _cipher().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _cipher().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted: SECRET_KEY or FIELD_ENCRYPTION_KEY changed."
        ) from None
