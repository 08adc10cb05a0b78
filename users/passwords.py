"""The password policy (serCen's usuBdClaveComplejidad), as a pure check; hashing many."""

from __future__ import annotations

import datetime
import os
import string
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from django.contrib.auth.hashers import make_password
from django.utils.translation import gettext as _

from core.dry_run import in_dry_run

SPECIAL_CHARACTERS = set(string.punctuation + " ")
# Threads hashing a file's passwords at once: every CPU, up to this (an import is one request
# among others on the portal's host).
MAX_HASH_THREADS = 8


def password_policy_errors(
    password: str,
    *,
    account: str,
    min_length: int,
    require_digits: bool,
    require_upper: bool,
    require_lower: bool,
    require_special: bool,
) -> list[str]:
    """Each rule the password breaks, as a message naming the rule (never the password)."""
    errors: list[str] = []
    if len(password) < min_length:
        errors.append(
            _("La contraseña de %(account)s debe tener al menos %(min)d caracteres.")
            % {"account": account, "min": min_length}
        )
    if require_digits and not any(c.isdigit() for c in password):
        errors.append(_("La contraseña debe contener al menos un número."))
    if require_upper and not any(c.isupper() for c in password):
        errors.append(_("La contraseña debe contener al menos una mayúscula."))
    if require_lower and not any(c.islower() for c in password):
        errors.append(_("La contraseña debe contener al menos una minúscula."))
    if require_special and not any(c in SPECIAL_CHARACTERS for c in password):
        errors.append(
            _("La contraseña debe contener al menos un carácter especial (p. ej. %(examples)s).")
            % {"examples": "!#$%&*"}
        )
    return errors


def password_expired(
    changed_at: datetime.datetime | None, *, validity_days: int, now: datetime.datetime
) -> bool:
    """True when a password set at ``changed_at`` is older than the validity (0 = never)."""
    if not validity_days or changed_at is None:
        return False
    return now - changed_at > datetime.timedelta(days=validity_days)


def password_hashes(passwords: Sequence[str]) -> list[str]:
    """The stored form of each of ``passwords`` (Django's hasher), in order.

    The hasher is slow on purpose (PBKDF2: about 0.2 s of CPU each), so a file of thousands
    of users is hashed on every CPU at once: hashlib's PBKDF2 releases the GIL, and threads
    need no pickling of passwords into other processes. In a dry run (core.dry_run) nothing
    is hashed: the transaction is rolled back, and what it stores is an unusable password.
    """
    if in_dry_run():
        return [make_password(None) for _password in passwords]
    if len(passwords) <= 1:
        return [make_password(password) for password in passwords]
    workers = min(len(passwords), os.cpu_count() or 1, MAX_HASH_THREADS)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="password-hash") as pool:
        return list(pool.map(make_password, passwords))
