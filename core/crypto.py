"""Symmetric encryption of secrets that must be recoverable (SIP secrets, TOTP seeds,
LDAP and SMTP passwords). Passwords of people are hashed instead, never encrypted.

AES-256-GCM with a random 96-bit nonce per value. The first key encrypts; every key
decrypts, so FIELD_ENCRYPTION_KEY can be rotated by putting the new key first.
"""

import base64
import binascii
import hashlib
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PREFIX = "g1$"
_AAD = b"vivait-portal-field"
_NONCE_BYTES = 12


def _derived_key(secret: str) -> bytes:
    return hashlib.sha256(b"vivait-portal-field-encryption\x00" + secret.encode()).digest()


@lru_cache(maxsize=4)
def _ciphers(field_key: str, secret_key: str) -> tuple[AESGCM, ...]:
    keys: list[bytes] = []
    for raw in filter(None, (part.strip() for part in field_key.split(","))):
        try:
            key = base64.urlsafe_b64decode(raw.encode())
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != 32:
            raise ImproperlyConfigured(
                "FIELD_ENCRYPTION_KEY must be 32 bytes in url-safe base64, e.g. the output of "
                "python -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())'."
            )
        keys.append(key)
    # The key derived from SECRET_KEY stays readable so secrets saved before a
    # FIELD_ENCRYPTION_KEY was set can still be decrypted (and re-encrypted on save).
    keys.append(_derived_key(secret_key))
    return tuple(AESGCM(key) for key in keys)


class SecretUndecryptable(ImproperlyConfigured):
    """A stored value that no configured key decrypts (or that is not in the portal's format)."""


def _current() -> tuple[AESGCM, ...]:
    return _ciphers(settings.FIELD_ENCRYPTION_KEY, settings.SECRET_KEY)


def encrypt(plaintext: str) -> str:
    nonce = os.urandom(_NONCE_BYTES)
    sealed = _current()[0].encrypt(nonce, plaintext.encode(), _AAD)
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt(token: str) -> str:
    return decrypt_with_key_index(token)[0]


def encrypted_with_first_key(token: str) -> bool:
    """Whether ``token`` is sealed with the key that encrypts now (the first one); raises
    SecretUndecryptable when no key opens it."""
    return decrypt_with_key_index(token)[1] == 0


def decrypt_with_key_index(token: str) -> tuple[str, int]:
    """The plaintext and the position of the key that opened it (0: the one that encrypts);
    raises SecretUndecryptable when none does."""
    if not token.startswith(PREFIX):
        raise SecretUndecryptable("A stored secret is not in the portal's encrypted format.")
    try:
        blob = base64.urlsafe_b64decode(token[len(PREFIX) :].encode())
    except (binascii.Error, ValueError):
        raise SecretUndecryptable("A stored secret is not valid base64.") from None
    nonce, sealed = blob[:_NONCE_BYTES], blob[_NONCE_BYTES:]
    for index, cipher in enumerate(_current()):
        try:
            return cipher.decrypt(nonce, sealed, _AAD).decode(), index
        except (InvalidTag, ValueError):
            continue
    raise SecretUndecryptable(
        "A stored secret cannot be decrypted: SECRET_KEY or FIELD_ENCRYPTION_KEY changed."
    )
