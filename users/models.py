"""Webfon users ("General > Usuarios > Administrar usuarios"), LDAP settings and the
networks exempt from the second factor (manual §7.6)."""

import ipaddress
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.fields import EncryptedTextField
from core.secrets import BoundSecretsModel, SecretsMixin
from extensions.models import number_validator

account_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$",
    _("La cuenta tiene de 1 a 64 caracteres: letras sin tilde, dígitos, '.', '_', '-' y '@'."),
)
mobile_validator = RegexValidator(
    r"^\+?[0-9]{6,15}$", _("El móvil tiene de 6 a 15 dígitos, opcionalmente con '+' delante.")
)
MAX_SESSIONS_LIMIT = 10


class PortalUser(SecretsMixin, models.Model):
    """A person who may log in to webfon (VIVAit Call Web).

    Validation says how the password is checked (portal, LDAP, either, or nobody); the
    second factor adds an e-mail PIN or a TOTP code. A user logs in with a fixed webfon
    extension or takes a free member of a pool, never both.
    """

    class Validation(models.TextChoices):
        SUITE = "suite", _("Vivait-Suite")
        LDAP = "ldap", _("LDAP")
        BOTH = "both", _("Ambas")
        DISABLED = "disabled", _("Deshabilitado")

    class SecondFactor(models.TextChoices):
        NONE = "none", _("Ninguno")
        # Context keeps Django's own catalogue from turning the manual's "Email" into "Correo electrónico".
        EMAIL = "email", pgettext_lazy("doble factor", "Email")
        TOTP = "totp", _("TOTP")

    AUDIT_SECRET_FIELDS = ("password", "totp_secret", "totp_pending_secret")
    # The TOTP replay guard moves on every login: bookkeeping, not a change to audit.
    AUDIT_SKIP_FIELDS = ("created_at", "updated_at", "totp_last_step")

    account = models.CharField(_("cuenta"), max_length=64, validators=[account_validator])
    name = models.CharField(_("nombre"), max_length=150)
    email = models.EmailField(_("correo electrónico"), blank=True)
    mobile = models.CharField(_("móvil"), max_length=16, blank=True, validators=[mobile_validator])
    validation = models.CharField(
        _("validación"), max_length=10, choices=Validation.choices, default=Validation.SUITE
    )
    second_factor = models.CharField(
        _("doble factor"), max_length=10, choices=SecondFactor.choices, default=SecondFactor.NONE
    )
    password = models.CharField(_("contraseña"), max_length=128, blank=True, editable=False)
    password_changed_at = models.DateTimeField(
        _("contraseña cambiada"), null=True, blank=True, editable=False
    )
    # The secret in force, and the one of an enrolment not yet confirmed with a code.
    totp_secret = EncryptedTextField(_("secreto TOTP"), blank=True, editable=False)
    totp_pending_secret = EncryptedTextField(
        _("secreto TOTP pendiente"), blank=True, editable=False
    )
    totp_confirmed_at = models.DateTimeField(
        _("TOTP activado"), null=True, blank=True, editable=False
    )
    # The last TOTP time step accepted: a code of this step or an older one is refused.
    totp_last_step = models.BigIntegerField(
        _("último paso TOTP usado"), null=True, blank=True, editable=False
    )
    # NULL, not "", for "no login number": the unique constraint must allow many users without one.
    login_number = models.CharField(  # noqa: DJ001
        _("número de login"),
        max_length=15,
        null=True,
        blank=True,
        validators=[number_validator],
        help_text=_("Extensión web que identifica al usuario; no consume licencia."),
    )
    webfon_extension = models.OneToOneField(
        "extensions.Extension",
        verbose_name=_("extensión webfon fija"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="fixed_user",
    )
    pool = models.ForeignKey(
        "extensions.ExtensionPool",
        verbose_name=_("pool de extensiones webfon"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
    )
    max_sessions = models.PositiveSmallIntegerField(
        _("sesiones simultáneas"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_SESSIONS_LIMIT)],
    )
    created_at = models.DateTimeField(_("creado"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modificado"), auto_now=True)

    class Meta:
        ordering = ["account"]
        verbose_name = _("usuario")
        verbose_name_plural = _("usuarios")
        indexes = [
            models.Index(fields=["name"], name="portaluser_name_idx"),
            models.Index(fields=["email"], name="portaluser_email_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["account"], name="portaluser_account_unique"),
            models.UniqueConstraint(fields=["login_number"], name="portaluser_login_number_unique"),
            models.CheckConstraint(
                condition=models.Q(validation__in=["suite", "ldap", "both", "disabled"]),
                name="portaluser_validation_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(second_factor__in=["none", "email", "totp"]),
                name="portaluser_second_factor_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(webfon_extension__isnull=True) | models.Q(pool__isnull=True),
                name="portaluser_fixed_extension_xor_pool",
            ),
            models.CheckConstraint(
                condition=~models.Q(second_factor="email") | ~models.Q(email=""),
                name="portaluser_email_factor_needs_email",
            ),
            models.CheckConstraint(
                condition=~models.Q(second_factor="totp")
                | models.Q(totp_confirmed_at__isnull=False),
                name="portaluser_totp_factor_needs_secret",
            ),
            models.CheckConstraint(
                condition=models.Q(max_sessions__gte=1)
                & models.Q(max_sessions__lte=MAX_SESSIONS_LIMIT),
                name="portaluser_max_sessions_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} ({self.name})" if self.name else self.account

    @property
    def has_usable_password(self) -> bool:
        return bool(self.password)

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.webfon_extension_id is not None and self.pool_id is not None:
            errors["pool"] = _(
                "El usuario %(account)s ya tiene la extensión webfon fija %(number)s: un usuario "
                "tiene una extensión webfon fija o un pool, nunca ambos."
            ) % {"account": self.account, "number": self.webfon_extension.number}
        if self.webfon_extension_id is not None and self.webfon_extension.kind != "webfon":
            errors["webfon_extension"] = _(
                "La extensión %(number)s es física; la extensión webfon fija de un usuario debe "
                "ser una extensión webfon."
            ) % {"number": self.webfon_extension.number}
        if self.second_factor == self.SecondFactor.EMAIL and not self.email:
            errors["email"] = _(
                "El doble factor «Email» envía el PIN al correo electrónico: escriba el correo "
                "del usuario %(account)s."
            ) % {"account": self.account}
        if self.second_factor == self.SecondFactor.TOTP and self.totp_confirmed_at is None:
            errors["second_factor"] = _(
                "El doble factor «TOTP» necesita que el usuario %(account)s tenga un secreto TOTP "
                "dado de alta y confirmado con un código."
            ) % {"account": self.account}
        if errors:
            raise ValidationError(errors)


class SecondFactorExemptNetwork(models.Model):
    """A network from which no second factor is asked (serCen's f1factor_NN_ip/_msk)."""

    network = models.CharField(
        _("red"), max_length=18, help_text=_("Red IPv4 en notación CIDR, p. ej. 172.25.1.0/24.")
    )
    description = models.CharField(_("descripción"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("creada"), auto_now_add=True)

    class Meta:
        ordering = ["network"]
        verbose_name = _("red exenta de doble factor")
        verbose_name_plural = _("redes exentas de doble factor")
        constraints = [
            models.UniqueConstraint(fields=["network"], name="exemptnetwork_network_unique")
        ]

    def __str__(self) -> str:
        return self.network

    @property
    def ip_network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.network)

    @property
    def ip(self) -> str:
        return str(self.ip_network.network_address)

    @property
    def mask(self) -> str:
        return str(self.ip_network.netmask)


def normalized_ldap_uri(uri: str) -> str:
    """scheme://host:port with the scheme's default port written out and the host lowercased,
    so ldap://DC1 and ldap://dc1:389 are one destination and ldaps://dc1 another."""
    try:
        parts = urlsplit(uri.strip())
        port = parts.port or (636 if parts.scheme.lower() == "ldaps" else 389)
        host = (parts.hostname or "").lower()
    except ValueError:
        return uri.strip().lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme.lower()}://{host}:{port}"


def normalized_dn(dn: str) -> str:
    """A DN compared the way directories do: case and blanks around ',' and '=' ignored."""
    return ",".join(
        "=".join(part.strip() for part in rdn.split("=", 1)) for rdn in dn.lower().split(",")
    ).strip()


class LdapSettings(BoundSecretsModel):
    """The customer's LDAP server ("General > Configurar LDAP"); a single row.

    Login is two-step (serCen's ldap_std_dos_pasos): bind with the service account,
    search the user with the filter, then bind as the DN found with the user's password.
    """

    AUDIT_SECRET_FIELDS = ("bind_password",)
    # The service account's password is bound to the server and to the account it is the
    # password of: another DN on the same server is another destination.
    BOUND_SECRET_FIELDS = ("bind_password",)
    DESTINATION_LABELS = {"ldap": "%(value)s", "bind_dn": "DN «%(value)s»"}
    SINGLETON_ID = 1

    # A fixed primary key holds the single row (MariaDB refuses CHECKs on AUTO_INCREMENT).
    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    server_uri = models.CharField(
        _("servidor"),
        max_length=255,
        blank=True,
        validators=[
            RegexValidator(
                r"^ldaps?://[A-Za-z0-9.\-\[\]:]+(:[0-9]{1,5})?/?$",
                _(
                    "«%(value)s» no es válido: el servidor es una URL ldap://host[:puerto] o ldaps://host[:puerto]."
                ),
            )
        ],
    )
    use_starttls = models.BooleanField(_("usar STARTTLS"), default=False)
    base_dn = models.CharField(_("DN base"), max_length=255, blank=True)
    bind_dn = models.CharField(_("DN de la cuenta de servicio"), max_length=255, blank=True)
    bind_password = EncryptedTextField(_("contraseña de la cuenta de servicio"), blank=True)
    user_filter = models.CharField(
        _("filtro de usuario"), max_length=255, default="(sAMAccountName={login})"
    )
    timeout = models.PositiveSmallIntegerField(
        _("tiempo de espera (s)"),
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
    )
    updated_at = models.DateTimeField(_("modificado"), auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("configuración LDAP")
        verbose_name_plural = _("configuración LDAP")
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="ldapsettings_singleton")
        ]

    def __str__(self) -> str:
        return self.server_uri or str(_("LDAP sin configurar"))

    @property
    def is_configured(self) -> bool:
        return bool(self.server_uri and self.base_dn)

    def secret_destination(self, name: str) -> dict[str, str]:
        return {
            "ldap": normalized_ldap_uri(self.server_uri),
            "bind_dn": normalized_dn(self.bind_dn),
        }

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if "{login}" not in self.user_filter:
            errors["user_filter"] = _(
                "El filtro «%(filter)s» no contiene {login}, donde va la cuenta del usuario."
            ) % {"filter": self.user_filter}
        elif not (self.user_filter.startswith("(") and self.user_filter.endswith(")")):
            errors["user_filter"] = _(
                "El filtro «%(filter)s» debe ir entre paréntesis, p. ej. (sAMAccountName={login})."
            ) % {"filter": self.user_filter}
        if self.server_uri.startswith("ldaps://") and self.use_starttls:
            errors["use_starttls"] = _("STARTTLS no se usa con ldaps://, que ya cifra la conexión.")
        if errors:
            raise ValidationError(errors)
