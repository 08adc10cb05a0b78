"""Staff login state: lockout counters and second-factor devices (django-otp devices)."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, ThrottlingMixin

from core.fields import EncryptedTextField
from core.totp import totp_matching_step


class StaffLoginThrottle(models.Model):
    """Failed staff logins of one account name from one client address.

    ``attempts`` counts the attempts of the current window, taken *before* the password reaches
    the hasher (see accounts/lockout.py); at the limit the pair is locked until ``locked_until``.
    The account is the name as typed, normalised, whether or not such an account exists.
    """

    account = models.CharField(_("cuenta"), max_length=150)
    client_ip = models.CharField(_("dirección"), max_length=45)
    attempts = models.PositiveIntegerField(_("intentos"), default=0)
    window_started_at = models.DateTimeField(_("inicio de la ventana"))
    locked_until = models.DateTimeField(_("bloqueada hasta"), null=True, blank=True)
    last_failure_at = models.DateTimeField(_("último fallo"), null=True, blank=True)

    class Meta:
        ordering = ["-locked_until", "-last_failure_at", "id"]
        verbose_name = _("bloqueo de acceso")
        verbose_name_plural = _("bloqueos de acceso")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "client_ip"], name="staffloginthrottle_pair_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account} @ {self.client_ip}"


class StaffTotpDevice(ThrottlingMixin, Device):
    """A TOTP authenticator app of a staff account; the seed is encrypted at rest.

    Unconfirmed while being enrolled; a code of a time step at or before ``last_step`` is
    refused, so each code logs in once.
    """

    secret = EncryptedTextField(_("secreto"), editable=False)
    last_step = models.BigIntegerField(
        _("último paso usado"), null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(_("alta"), auto_now_add=True)

    class Meta:
        verbose_name = _("app TOTP")
        verbose_name_plural = _("apps TOTP")

    def get_throttle_factor(self) -> int:
        return settings.STAFF_OTP_THROTTLE_FACTOR

    def verify_token(self, token) -> bool:
        allowed, _info = self.verify_is_allowed()
        if not allowed:
            return False
        code = str(token or "").strip().replace(" ", "")
        step = totp_matching_step(self.secret, code) if len(code) == 6 else None
        if step is None or (self.last_step is not None and step <= self.last_step):
            self.throttle_increment()
            return False
        self.last_step = step
        self.throttling_failure_timestamp = None
        self.throttling_failure_count = 0
        self.save(
            update_fields=["last_step", "throttling_failure_timestamp", "throttling_failure_count"]
        )
        return True


def recovery_code_digest(code: str) -> str:
    """An HMAC of a normalised recovery code keyed by the server secret: the table alone
    cannot be brute-forced back into codes."""
    normalised = "".join(ch for ch in code.lower() if ch.isalnum())
    key = hashlib.sha256(f"staff-recovery:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, normalised.encode(), hashlib.sha256).hexdigest()


class StaffRecoveryDevice(ThrottlingMixin, Device):
    """The set of one-time recovery codes of a staff account (only their digests)."""

    created_at = models.DateTimeField(_("generados"), auto_now_add=True)

    class Meta:
        verbose_name = _("códigos de recuperación")
        verbose_name_plural = _("códigos de recuperación")

    def get_throttle_factor(self) -> int:
        return settings.STAFF_OTP_THROTTLE_FACTOR

    def verify_token(self, token) -> bool:
        allowed, _info = self.verify_is_allowed()
        if not allowed:
            return False
        # Deleting the row is what spends the code: two requests cannot both use it.
        used, _ = self.codes.filter(digest=recovery_code_digest(str(token or ""))).delete()
        if not used:
            self.throttle_increment()
            return False
        self.throttle_reset()
        return True


class StaffRecoveryCode(models.Model):
    device = models.ForeignKey(
        StaffRecoveryDevice, on_delete=models.CASCADE, related_name="codes", editable=False
    )
    digest = models.CharField(max_length=64, editable=False)

    class Meta:
        verbose_name = _("código de recuperación")
        verbose_name_plural = _("códigos de recuperación")
        constraints = [
            models.UniqueConstraint(fields=["device", "digest"], name="staffrecoverycode_unique")
        ]

    def __str__(self) -> str:
        return f"{self.device_id}:{self.digest[:8]}"


class StaffPreference(models.Model):
    """A staff account's own settings: the interface language it chose (Spanish unless it
    chose another), kept across logins and browsers."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("cuenta"),
        on_delete=models.CASCADE,
        related_name="staff_preference",
    )
    language = models.CharField(
        _("idioma"), max_length=8, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )

    class Meta:
        verbose_name = _("preferencias de la cuenta")
        verbose_name_plural = _("preferencias de las cuentas")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.language}"
