"""Writes on the portal's own staff accounts (the people who administer the platform)."""

import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.actors import Actor
from core.audit import audit_record
from core.models import ApiToken
from core.roles import ROLES
from core.tokens import new_token_key, token_digest, token_prefix


@transaction.atomic
def staff_user_set(*, actor: Actor, username: str, password: str, role: str, email: str = ""):
    """Create or update a staff account with exactly one role and the given password."""
    if role not in ROLES:
        raise ValidationError(
            {
                "role": _("El rol «%(role)s» no existe; los roles son %(roles)s.")
                % {"role": role, "roles": ", ".join(ROLES)}
            }
        )
    User = get_user_model()
    user, created = User.objects.get_or_create(username=username, defaults={"email": email})
    user.set_password(password)
    user.is_active = True
    user.save()
    user.groups.set([Group.objects.get(name=role)])
    audit_record(
        actor=actor,
        action="staff.create" if created else "staff.set_password",
        instance=user,
        extra={"role": role},
    )
    return user


API_TOKEN_MAX_DAYS = 3650


@transaction.atomic
def api_token_create(
    *,
    actor: Actor,
    user,
    name: str = "",
    days: int | None = None,
    read_only: bool = False,
) -> tuple[ApiToken, str]:
    """Create an API token for ``user``, valid ``days`` (API_TOKEN_DAYS by default); answers
    the token and its key, shown only this once. A read-only token can only read."""
    if not user.is_active:
        raise ValidationError(
            {"user": _("La cuenta «%(user)s» está desactivada.") % {"user": user.get_username()}}
        )
    days = settings.API_TOKEN_DAYS if days is None else days
    if not 1 <= days <= API_TOKEN_MAX_DAYS:
        raise ValidationError(
            {
                "days": _(
                    "La validez de %(days)s días no es posible: debe estar entre 1 y %(max)d días."
                )
                % {"days": days, "max": API_TOKEN_MAX_DAYS}
            }
        )
    key = new_token_key()
    token = ApiToken(
        user=user,
        name=name.strip(),
        prefix=token_prefix(key),
        key_digest=token_digest(key),
        expires_at=timezone.now() + datetime.timedelta(days=days),
        read_only=read_only,
    )
    token.full_clean()
    token.save()
    audit_record(
        actor=actor,
        action="api_token.create",
        instance=token,
        extra={
            "user": user.get_username(),
            "name": token.name,
            "expires_at": token.expires_at,
            "read_only": token.read_only,
        },
    )
    return token, key


@transaction.atomic
def api_token_revoke(*, actor: Actor, token: ApiToken) -> ApiToken:
    """Revoke a token; a revoked token authenticates nothing. Revoking twice is harmless."""
    updated = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    token.refresh_from_db()
    if updated:
        audit_record(actor=actor, action="api_token.revoke", instance=token)
    return token
