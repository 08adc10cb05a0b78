"""Writes on the portal's own staff accounts (the people who administer the platform)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.actors import Actor
from portal.audit import audit_record
from portal.models import ApiToken
from portal.roles import ROLES
from portal.tokens import new_token_key, token_digest, token_prefix


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


@transaction.atomic
def api_token_create(*, actor: Actor, user, name: str = "") -> tuple[ApiToken, str]:
    """Create an API token for ``user``; answers the token and its key, shown only this once."""
    if not user.is_active:
        raise ValidationError(
            {"user": _("La cuenta «%(user)s» está desactivada.") % {"user": user.get_username()}}
        )
    key = new_token_key()
    token = ApiToken(
        user=user, name=name.strip(), prefix=token_prefix(key), key_digest=token_digest(key)
    )
    token.full_clean()
    token.save()
    audit_record(
        actor=actor,
        action="api_token.create",
        instance=token,
        extra={"user": user.get_username(), "name": token.name},
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
