"""Reads about staff accounts' second factor."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, Q
from django_otp_webauthn.models import WebAuthnCredential

from accounts.models import StaffRecoveryDevice, StaffTotpDevice

STAGE_VERIFY = "verify"
STAGE_ENROL = "enrol"


def second_factor_required(user) -> bool:
    """Whether the account's role demands a second factor (STAFF_SECOND_FACTOR_ROLES)."""
    roles = settings.STAFF_SECOND_FACTOR_ROLES
    return bool(roles) and user.groups.filter(name__in=roles).exists()


def totp_devices(user):
    return StaffTotpDevice.objects.filter(user=user, confirmed=True).order_by("created_at", "id")


def passkeys(user):
    return WebAuthnCredential.objects.filter(user=user, confirmed=True).order_by("created_at", "id")


def recovery_codes_left(user) -> int:
    device = StaffRecoveryDevice.objects.filter(user=user).first()
    return device.codes.count() if device is not None else 0


def has_second_factor(user) -> bool:
    """An authenticator app or a passkey (recovery codes alone are not a second factor)."""
    return totp_devices(user).exists() or passkeys(user).exists()


def second_factor_stage(user) -> str | None:
    """What a logged-in account that has not given a second factor in this session must do:
    give it (it has one), enrol one (its role needs one), or nothing."""
    if has_second_factor(user):
        return STAGE_VERIFY
    if second_factor_required(user):
        return STAGE_ENROL
    return None


def staff_accounts():
    """Every staff account with its roles and how many devices of each kind it has."""
    return (
        get_user_model()
        .objects.prefetch_related("groups")
        .annotate(
            totp_count=Count(
                "stafftotpdevice", filter=Q(stafftotpdevice__confirmed=True), distinct=True
            ),
            passkey_count=Count(
                "webauthncredential", filter=Q(webauthncredential__confirmed=True), distinct=True
            ),
            recovery_left=Count("staffrecoverydevice__codes", distinct=True),
        )
        .order_by("username")
    )
