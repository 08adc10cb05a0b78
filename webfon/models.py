"""Webfon login (manual §2, §5.2.1-5.2.3, §7.6): the access policy, the sessions (serCen's
tokens), the second-factor challenges and the failed-attempt counters."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

# A challenge (password passed, PIN pending) never lives longer than this (issue #7).
CHALLENGE_MAX_SECONDS = 600


# What each login outcome is called in the interface (the API answers the codes).
LOGIN_OUTCOME_LABELS = {
    "ok": _("correctos"),
    "bad_credentials": _("cuenta o contraseña incorrectas"),
    "pool_full": _("pool completo"),
    "locked": _("bloqueados por intentos fallidos"),
    "disabled": _("usuario deshabilitado"),
    "no_webfon_extension": _("sin extensión webfon"),
    "too_many_sessions": _("demasiadas sesiones abiertas"),
    "already_logged_in": _("ya tenía una sesión en el pool"),
    "password_expired": _("contraseña caducada"),
    "bad_pin": _("PIN o código de doble factor incorrecto"),
    "challenge_invalid": _("doble factor caducado o no válido"),
    "second_factor_unavailable": _("doble factor no disponible"),
}
# The settings of the access policy an administrador edits (page and API), in the page's order.
POLICY_EDITABLE_FIELDS = (
    "token_ttl_seconds",
    "pin_expiry_seconds",
    "pin_max_attempts",
    "pin_length",
    "password_validity_days",
    "password_min_length",
    "password_require_digits",
    "password_require_upper",
    "password_require_lower",
    "password_require_special",
    "account_max_failures",
    "ip_max_failures",
    "failure_window_seconds",
    "session_retention_days",
)


class WebfonPolicy(models.Model):
    """How webfon logins are checked; a single row ("General > Política de acceso webfon").

    The password rules are serCen's usuBdClaveComplejidad (diasValidezNueva, longiMin,
    requiereNumeros, requiereMayusculas, requiereMinusculas, requiereCarsEspeciales).
    """

    SINGLETON_ID = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    token_ttl_seconds = models.PositiveIntegerField(
        _("validez del token (s)"),
        default=3600,
        validators=[MinValueValidator(60), MaxValueValidator(7 * 24 * 3600)],
    )
    pin_expiry_seconds = models.PositiveIntegerField(
        _("validez del PIN por correo o del reto TOTP (s)"),
        default=600,
        validators=[MinValueValidator(30), MaxValueValidator(CHALLENGE_MAX_SECONDS)],
    )
    pin_max_attempts = models.PositiveSmallIntegerField(
        _("intentos de PIN o código TOTP"),
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(20)],
    )
    pin_length = models.PositiveSmallIntegerField(
        _("dígitos del PIN por correo"),
        default=6,
        validators=[MinValueValidator(4), MaxValueValidator(10)],
    )
    password_validity_days = models.PositiveIntegerField(
        _("días de validez de la contraseña"),
        default=90,
        validators=[MaxValueValidator(3650)],
        help_text=_("0: la contraseña no caduca."),
    )
    password_min_length = models.PositiveSmallIntegerField(
        _("longitud mínima de la contraseña"),
        default=8,
        validators=[MinValueValidator(4), MaxValueValidator(128)],
    )
    password_require_digits = models.BooleanField(_("exige números"), default=False)
    password_require_upper = models.BooleanField(_("exige mayúsculas"), default=False)
    password_require_lower = models.BooleanField(_("exige minúsculas"), default=False)
    password_require_special = models.BooleanField(_("exige caracteres especiales"), default=False)
    account_max_failures = models.PositiveSmallIntegerField(
        _("intentos fallidos por cuenta"),
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text=_("Después, la cuenta queda bloqueada durante la ventana de bloqueo."),
    )
    ip_max_failures = models.PositiveSmallIntegerField(
        _("intentos fallidos por IP"),
        default=20,
        validators=[MinValueValidator(1), MaxValueValidator(10000)],
    )
    failure_window_seconds = models.PositiveIntegerField(
        _("ventana de bloqueo (s)"),
        default=900,
        validators=[MinValueValidator(10), MaxValueValidator(86400)],
    )
    session_retention_days = models.PositiveSmallIntegerField(
        _("días que se guardan los tokens terminados"),
        default=15,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
    )
    updated_at = models.DateTimeField(_("modificado"), auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("política de acceso webfon")
        verbose_name_plural = _("política de acceso webfon")
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="webfonpolicy_singleton")
        ]

    def __str__(self) -> str:
        return str(_("Política de acceso webfon"))


class WebfonSession(models.Model):
    """A webfon login: the token (stored as a digest) and the mobility extension it holds.

    ``pool_extension`` is set only while a session holds a member of a pool; its unique
    index is what makes two sessions never share one pool member, on every database.
    """

    class State(models.TextChoices):
        ACTIVE = "active", _("activa")
        ENDED = "ended", _("terminada")

    class EndReason(models.TextChoices):
        LOGOUT = "logout", _("cierre de sesión")
        FORCED = "forced", _("cierre forzado")
        EXPIRED = "expired", _("caducada")
        DISABLED = "disabled", _("usuario deshabilitado")
        REASSIGNED = "reassigned", _("extensión reasignada")
        MAX_TIME = "max_time", _("tiempo máximo de sesión del pool")
        RELEASE = "release", _("liberación diaria del pool")
        REPLACED = "replaced", _("sustituida por un nuevo inicio de sesión")

    user = models.ForeignKey(
        "users.PortalUser",
        verbose_name=_("usuario"),
        on_delete=models.CASCADE,
        related_name="webfon_sessions",
    )
    token_digest = models.CharField(_("resumen del token"), max_length=64, editable=False)
    extension = models.ForeignKey(
        "extensions.Extension",
        verbose_name=_("extensión movilidad"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    pool_extension = models.OneToOneField(
        "extensions.Extension",
        verbose_name=_("miembro del pool ocupado"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="pool_session",
    )
    pool = models.ForeignKey(
        "extensions.ExtensionPool",
        verbose_name=_("pool de extensiones"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("El pool del que se tomó la extensión (se conserva al terminar la sesión)."),
    )
    extension_number = models.CharField(_("número de la extensión movilidad"), max_length=15)
    client_ip = models.GenericIPAddressField(_("IP de origen"), unpack_ipv4=True)
    application = models.CharField(_("aplicación"), max_length=32, default="webfon")
    state = models.CharField(_("estado"), max_length=8, choices=State.choices, default=State.ACTIVE)
    started_at = models.DateTimeField(_("inicio"))
    expires_at = models.DateTimeField(_("caduca"))
    ended_at = models.DateTimeField(_("fin"), null=True, blank=True)
    end_reason = models.CharField(
        _("motivo del fin"), max_length=10, choices=EndReason.choices, blank=True
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("sesión webfon")
        verbose_name_plural = _("sesiones webfon")
        constraints = [
            models.UniqueConstraint(fields=["token_digest"], name="webfonsession_token_unique"),
            models.CheckConstraint(
                condition=models.Q(state__in=["active", "ended"]),
                name="webfonsession_state_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(state="active") | models.Q(pool_extension__isnull=True),
                name="webfonsession_ended_holds_nothing",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "expires_at"], name="webfonsession_state_exp_idx"),
            models.Index(fields=["user", "state"], name="webfonsession_user_state_idx"),
            models.Index(fields=["started_at"], name="webfonsession_started_idx"),
            models.Index(fields=["ended_at"], name="webfonsession_ended_idx"),
            models.Index(fields=["pool", "started_at"], name="webfonsession_pool_start_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.extension_number} ({self.state})"


class LoginChallenge(models.Model):
    """A login whose password passed and whose second factor is pending.

    The client holds the challenge key (stored here as a digest); an e-mail PIN is stored as
    an HMAC only. Attempts are counted with a conditional update, so racing requests cannot
    try more PINs than allowed.
    """

    class Method(models.TextChoices):
        EMAIL = "email", pgettext_lazy("doble factor", "Email")
        TOTP = "totp", _("TOTP")

    key_digest = models.CharField(_("resumen del reto"), max_length=64, editable=False)
    user = models.ForeignKey(
        "users.PortalUser",
        verbose_name=_("usuario"),
        on_delete=models.CASCADE,
        related_name="login_challenges",
    )
    method = models.CharField(_("método"), max_length=8, choices=Method.choices)
    pin_digest = models.CharField(_("resumen del PIN"), max_length=64, blank=True, editable=False)
    client_ip = models.GenericIPAddressField(_("IP de origen"), unpack_ipv4=True)
    application = models.CharField(_("aplicación"), max_length=32, default="webfon")
    attempts = models.PositiveSmallIntegerField(_("intentos"), default=0)
    max_attempts = models.PositiveSmallIntegerField(_("intentos máximos"))
    created_at = models.DateTimeField(_("creado"))
    expires_at = models.DateTimeField(_("caduca"))
    consumed_at = models.DateTimeField(_("usado"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("reto de doble factor")
        verbose_name_plural = _("retos de doble factor")
        constraints = [
            models.UniqueConstraint(fields=["key_digest"], name="loginchallenge_key_unique"),
            models.CheckConstraint(
                condition=models.Q(method__in=["email", "totp"]),
                name="loginchallenge_method_valid",
            ),
        ]
        indexes = [models.Index(fields=["expires_at"], name="loginchallenge_expires_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.method} {self.created_at:%Y-%m-%d %H:%M:%S}"


class LoginThrottle(models.Model):
    """Failed (and in-flight) login attempts per account or per client IP in one window.

    Kept in the database, not in a cache, so restarting Redis does not reset them.
    """

    class Scope(models.TextChoices):
        ACCOUNT = "account", _("cuenta")
        IP = "ip", _("IP")

    scope = models.CharField(_("ámbito"), max_length=8, choices=Scope.choices)
    key = models.CharField(_("clave"), max_length=128)
    attempts = models.PositiveIntegerField(_("intentos"), default=0)
    window_started_at = models.DateTimeField(_("inicio de la ventana"))
    last_failure_at = models.DateTimeField(_("último fallo"), null=True, blank=True)

    class Meta:
        ordering = ["scope", "key"]
        verbose_name = _("contador de intentos fallidos")
        verbose_name_plural = _("contadores de intentos fallidos")
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="loginthrottle_scope_key_unique"),
            models.CheckConstraint(
                condition=models.Q(scope__in=["account", "ip"]), name="loginthrottle_scope_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key} ({self.attempts})"


class LoginOutcomeHour(models.Model):
    """How many webfon logins ended in each outcome, per hour, pool and node: ``ok`` or a
    refusal reason (``pool_full``, ``bad_credentials``, ``locked``…). One row per hour and
    key, incremented by an upsert (never one row per attempt); kept 400 days.

    ``pool_ref`` and ``node_ref`` are the ids of the user's pool and of the corporate node of
    its mobility extension (0: none, or not known, e.g. an unknown account). Plain numbers, so
    the unique key holds on every database and the history outlives a deleted pool."""

    hour = models.DateTimeField(_("hora"))
    pool_ref = models.PositiveIntegerField(_("pool"), default=0)
    node_ref = models.PositiveIntegerField(_("nodo"), default=0)
    outcome = models.CharField(_("resultado"), max_length=32)
    count = models.PositiveIntegerField(_("inicios de sesión"), default=0)

    class Meta:
        ordering = ["-hour", "outcome"]
        verbose_name = _("resultado de inicios de sesión por hora")
        verbose_name_plural = _("resultados de inicios de sesión por hora")
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "pool_ref", "node_ref", "outcome"],
                name="loginoutcomehour_key_unique",
            )
        ]
        indexes = [models.Index(fields=["pool_ref", "hour"], name="loginoutcomehour_pool_idx")]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}h {self.outcome} {self.count}"


class PoolOccupancyHour(models.Model):
    """One finished hour of a pool's occupancy, computed from its sessions by the beat (so
    the history outlives the sessions, purged after their retention days): the peak of
    concurrent sessions, the seconds spent full, the pool's size then, and how many sessions
    started as the k-th open one (``start_levels[k-1]``), from which a smaller size's refusals
    are counted."""

    pool = models.ForeignKey(
        "extensions.ExtensionPool",
        verbose_name=_("pool de extensiones"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    hour = models.DateTimeField(_("hora"))
    size = models.PositiveIntegerField(_("miembros"))
    peak = models.PositiveIntegerField(_("pico de sesiones simultáneas"))
    full_seconds = models.FloatField(_("segundos completo"))
    start_levels = models.JSONField(_("inicios por ocupación"), default=list)

    class Meta:
        ordering = ["pool", "hour"]
        verbose_name = _("ocupación de un pool por hora")
        verbose_name_plural = _("ocupación de los pools por hora")
        constraints = [
            models.UniqueConstraint(fields=["pool", "hour"], name="poolocchour_pool_hour_unique")
        ]

    def __str__(self) -> str:
        return f"{self.pool_id} {self.hour:%Y-%m-%d %H}h {self.peak}/{self.size}"
