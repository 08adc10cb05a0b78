"""Writes of the staff plane: login events, lockouts, second-factor devices.

Every event is recorded in the audit trail with its actor and client address; no password,
code or secret ever goes into a row or a log line.
"""

from __future__ import annotations

import datetime
import logging
import secrets

import pyotp
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django_otp_webauthn.models import WebAuthnCredential

from accounts.models import (
    StaffLoginThrottle,
    StaffPreference,
    StaffRecoveryCode,
    StaffRecoveryDevice,
    StaffTotpDevice,
    recovery_code_digest,
)
from accounts.selectors import has_second_factor
from core.actors import Actor
from core.audit import audit_record, audit_snapshot
from core.totp import totp_matching_step

logger = logging.getLogger("accounts.auth")

PASSWORD_RESET_EMAIL_TEMPLATE = "registration/password_reset_email.txt"
PASSWORD_RESET_SUBJECT_TEMPLATE = "registration/password_reset_subject.txt"


def _attempt_actor(*, account: str, client_ip: str, user=None) -> Actor:
    """The author of a login attempt: the account it names (which may not exist)."""
    return Actor(
        kind="user",
        label=account.strip()[:150],
        user_id=user.pk if user is not None else None,
        client_ip=client_ip or None,
    )


def _user_named(account: str):
    return get_user_model().objects.filter(username=account.strip()).first()


@transaction.atomic
def staff_login_failed(
    *, account: str, client_ip: str, reason: str, locked_until: datetime.datetime | None = None
) -> None:
    """Record a refused login (and, when this failure locked the pair, the lockout)."""
    user = _user_named(account)
    actor = _attempt_actor(account=account, client_ip=client_ip, user=user)
    target = {"instance": user} if user is not None else {"object_type": "auth.user"}
    audit_record(
        actor=actor,
        action="staff.login_failed",
        object_repr=account.strip()[:200],
        extra={"reason": reason},
        **target,
    )
    logger.warning("staff.login_failed account=%r ip=%s reason=%s", account, client_ip, reason)
    if locked_until is not None:
        audit_record(
            actor=actor,
            action="staff.lockout",
            object_repr=account.strip()[:200],
            extra={"locked_until": locked_until},
            **target,
        )
        logger.warning("staff.lockout account=%r ip=%s until=%s", account, client_ip, locked_until)


def staff_login_locked(*, account: str, client_ip: str) -> None:
    """An attempt refused while its pair is locked: a log line only (the lockout itself was
    audited once; a locked pair costs the attacker nothing, so it must not cost a row)."""
    logger.warning("staff.login_locked account=%r ip=%s", account, client_ip)


@transaction.atomic
def staff_login_succeeded(*, user, client_ip: str, method: str) -> None:
    """Record a completed login: the password and, when asked, the second factor."""
    audit_record(
        actor=Actor.for_user(user, client_ip=client_ip or None),
        action="staff.login",
        instance=user,
        extra={"method": method},
    )
    logger.info("staff.login user=%s ip=%s method=%s", user.pk, client_ip, method)


def staff_reauthenticated(*, actor: Actor, user) -> None:
    """A re-authentication before a dangerous action (a log line; the action is audited)."""
    logger.info("staff.reauthenticated user=%s ip=%s", user.pk, actor.client_ip)


@transaction.atomic
def staff_password_reset(*, user, client_ip: str) -> None:
    """Record a password changed through an e-mailed reset link."""
    audit_record(
        actor=Actor.for_user(user, client_ip=client_ip or None),
        action="staff.password_reset",
        instance=user,
    )
    logger.info("staff.password_reset user=%s ip=%s", user.pk, client_ip)


@transaction.atomic
def staff_logout(*, actor: Actor, user) -> None:
    audit_record(actor=actor, action="staff.logout", instance=user)
    logger.info("staff.logout user=%s ip=%s", user.pk, actor.client_ip)


@transaction.atomic
def staff_lockout_clear(*, actor: Actor, throttle: StaffLoginThrottle) -> None:
    """Unlock one (account, address) pair and forget its failures."""
    locked = StaffLoginThrottle.objects.select_for_update().filter(pk=throttle.pk).first()
    if locked is None:
        return
    audit_record(
        actor=actor,
        action="staff.lockout_clear",
        object_type="accounts.staffloginthrottle",
        object_id=str(locked.pk),
        object_repr=str(locked),
        extra={"account": locked.account, "address": locked.client_ip},
    )
    locked.delete()
    logger.info(
        "staff.lockout_clear account=%r ip=%s by=%s", locked.account, locked.client_ip, actor.label
    )


def lockout_message(minutes: int) -> str:
    return _(
        "Demasiados intentos fallidos con esta cuenta desde su dirección. "
        "Vuelva a intentarlo dentro de %(minutes)d minutos."
    ) % {"minutes": minutes}


# --- second factor -------------------------------------------------------------------------

TOTP_ISSUER = "VIVAit Call (administración)"
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


def method_of(device) -> str:
    if isinstance(device, StaffTotpDevice):
        return "totp"
    if isinstance(device, StaffRecoveryDevice):
        return "recovery"
    return "webauthn"


@transaction.atomic
def staff_totp_begin(*, actor: Actor, user) -> tuple[StaffTotpDevice, str]:
    """Start enrolling an authenticator app: an unconfirmed device with a new secret (any
    earlier unfinished one is dropped). Answers it and the provisioning URI for the QR code;
    nothing is in force until staff_totp_confirm."""
    StaffTotpDevice.objects.filter(user=user, confirmed=False).delete()
    secret = pyotp.random_base32()
    count = StaffTotpDevice.objects.filter(user=user).count()
    device = StaffTotpDevice(
        user=user,
        name=_("App de autenticación %(n)d") % {"n": count + 1},
        secret=secret,
        confirmed=False,
    )
    device.full_clean()
    device.save()
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.get_username(), issuer_name=TOTP_ISSUER)
    return device, uri


@transaction.atomic
def staff_totp_confirm(*, actor: Actor, user, code: str) -> StaffTotpDevice:
    """Put the app being enrolled in force once it proves itself with one valid code."""
    device = (
        StaffTotpDevice.objects.select_for_update()
        .filter(user=user, confirmed=False)
        .order_by("-id")
        .first()
    )
    if device is None:
        raise ValidationError(
            {"code": _("No hay ningún alta de app TOTP en curso: pulse «Añadir app TOTP».")}
        )
    code = (code or "").strip().replace(" ", "")
    step = totp_matching_step(device.secret, code) if len(code) == 6 else None
    if step is None:
        raise ValidationError(
            {
                "code": _(
                    "El código «%(code)s» no es válido: escriba los 6 dígitos que muestra ahora la app."
                )
                % {"code": code[:12]}
            }
        )
    device.confirmed = True
    # The confirmation code is spent: it cannot log in afterwards.
    device.last_step = step
    device.save(update_fields=["confirmed", "last_step"])
    audit_record(
        actor=actor,
        action="staff.second_factor_enrol",
        instance=user,
        extra={"method": "totp", "device": device.name},
    )
    logger.info("staff.second_factor_enrol user=%s method=totp", user.pk)
    return device


@transaction.atomic
def staff_passkey_enrolled(*, actor: Actor, user, device) -> None:
    """Name (when the ceremony left it unnamed) and record a passkey registered by
    django-otp-webauthn's ceremony."""
    if not device.name:
        count = WebAuthnCredential.objects.filter(user=user).count()
        device.name = _("Llave de acceso %(n)d") % {"n": count}
        device.save(update_fields=["name"])
    audit_record(
        actor=actor,
        action="staff.second_factor_enrol",
        instance=user,
        extra={"method": "webauthn", "device": device.name},
    )
    logger.info("staff.second_factor_enrol user=%s method=webauthn", user.pk)


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


@transaction.atomic
def staff_recovery_codes_generate(*, actor: Actor, user) -> list[str]:
    """Ten new one-time recovery codes (the old ones stop working). Answers them, to be shown
    this once; only their digests are kept."""
    if not has_second_factor(user):
        raise ValidationError(
            _(
                "Los códigos de recuperación acompañan a un segundo factor: dé de alta antes "
                "una app TOTP o una llave de acceso."
            )
        )
    StaffRecoveryDevice.objects.filter(user=user).delete()
    device = StaffRecoveryDevice.objects.create(user=user, name=_("Códigos de recuperación"))
    codes = set()
    while len(codes) < RECOVERY_CODE_COUNT:
        codes.add(_new_recovery_code())
    StaffRecoveryCode.objects.bulk_create(
        StaffRecoveryCode(device=device, digest=recovery_code_digest(code)) for code in codes
    )
    audit_record(
        actor=actor,
        action="staff.recovery_codes_generate",
        instance=user,
        extra={"count": RECOVERY_CODE_COUNT},
    )
    return sorted(codes)


@transaction.atomic
def staff_device_remove(*, actor: Actor, user, device) -> None:
    """Remove one of the account's own devices; with the last app or passkey the recovery
    codes go too (they are no second factor on their own)."""
    if device.user_id != user.pk:
        raise ValidationError(_("Ese dispositivo no es de su cuenta."))
    method = method_of(device)
    device.delete()
    if not has_second_factor(user):
        StaffRecoveryDevice.objects.filter(user=user).delete()
    audit_record(
        actor=actor,
        action="staff.second_factor_remove",
        instance=user,
        extra={"method": method, "device": device.name},
    )
    logger.info("staff.second_factor_remove user=%s method=%s", user.pk, method)


@transaction.atomic
def staff_second_factor_reset(*, actor: Actor, user) -> int:
    """An administrator removes every second-factor device of another account (lost phone):
    its next login (and its open sessions) must enrol again. Answers how many were removed."""
    if actor.user_id == user.pk:
        raise ValidationError(
            _("No puede restablecer su propio segundo factor: hágalo desde «Mi cuenta».")
        )
    removed = 0
    for model in (StaffTotpDevice, WebAuthnCredential, StaffRecoveryDevice):
        removed += model.objects.filter(user=user).delete()[1].get(model._meta.label, 0)
    audit_record(
        actor=actor,
        action="staff.second_factor_reset",
        instance=user,
        extra={"devices": removed},
    )
    logger.warning("staff.second_factor_reset user=%s by=%s", user.pk, actor.label)
    return removed


@transaction.atomic
def staff_language_set(*, actor: Actor, user, language: str) -> StaffPreference:
    """Remember the interface language ``user`` chose (one of LANGUAGES)."""
    preference, _created = StaffPreference.objects.select_for_update().get_or_create(user=user)
    before = audit_snapshot(preference)
    preference.language = language
    preference.full_clean()
    preference.save()
    audit_record(
        actor=actor,
        action="staff.language_set",
        instance=preference,
        before=before,
        after=audit_snapshot(preference),
    )
    return preference


def staff_password_reset_request(*, email: str, domain: str, use_https: bool) -> None:
    """¿Ha olvidado su contraseña?: have the reset link mailed to the accounts of ``email``
    by a worker (accounts.password_reset_send), whatever the address. The request then does
    the same work, in the same time, whether an account has it or not; sending from here
    would take an SMTP conversation for a known address only, which tells that it exists.
    With the broker down the link is sent from here, so it still arrives."""
    from accounts.tasks import password_reset_send

    language = translation.get_language()
    try:
        password_reset_send.delay(
            email=email, domain=domain, use_https=use_https, language=language
        )
    except Exception as exc:
        logger.warning("staff.password_reset_dispatch_failed error=%s", type(exc).__name__)
        staff_password_reset_send(
            email=email, domain=domain, use_https=use_https, language=language
        )


def staff_password_reset_send(
    *, email: str, domain: str, use_https: bool, language: str | None = None
) -> None:
    """Mail a reset link (one hour, once) to each active account of ``email`` with a usable
    password (Django's PasswordResetForm: its rules and its tokens), in ``language``, links
    on ``domain``. An SMTP failure is logged by the form, never raised."""
    form = PasswordResetForm({"email": email})
    if not form.is_valid():
        return
    with translation.override(language):
        form.save(
            domain_override=domain,
            use_https=use_https,
            email_template_name=PASSWORD_RESET_EMAIL_TEMPLATE,
            subject_template_name=PASSWORD_RESET_SUBJECT_TEMPLATE,
        )
