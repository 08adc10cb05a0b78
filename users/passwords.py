"""The password policy (serCen's usuBdClaveComplejidad), as a pure check."""

from __future__ import annotations

import datetime
import string

from django.utils.translation import gettext as _

SPECIAL_CHARACTERS = set(string.punctuation + " ")


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
