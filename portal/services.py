"""Writes on the portal's own staff accounts (the people who administer the platform)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from portal.actors import Actor
from portal.audit import audit_record
from portal.roles import ROLES


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
