"""Extensions, pools of webfon extensions and SIP templates (manual §7.2, §7.4, §7.5)."""

import secrets

from django.core.exceptions import ValidationError
from django.core.validators import (
    MaxValueValidator,
    MinLengthValidator,
    MinValueValidator,
    RegexValidator,
)
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.fields import EncryptedTextField
from core.secrets import SecretsMixin
from extensions.sip import render_sip_options

SYSTEM_TEMPLATE_NAME = "Plantilla para Extensiones webfon"
WEBFON_TEMPLATE_MARK = "Extensiones webfon"
NUMBER_MAX_LENGTH = 15
MAX_SESSION_MINUTES = 7 * 24 * 60

number_validator = RegexValidator(
    r"^[0-9]{1,15}$",
    _("Un número de extensión tiene solo dígitos, de 1 a 15."),
)


def generate_registration_secret() -> str:
    """A SIP registration secret: 20 characters from a URL-safe alphabet (~120 bits)."""
    return secrets.token_urlsafe(15)


class Template(models.Model):
    """A set of SIP options applied to extensions ("General > Plantillas").

    The system template "Plantilla para Extensiones webfon" is created by a migration and
    is read-only; webfon templates (the system one and its copies) keep the string
    "Extensiones webfon" in their name so VIVAit can find them.
    """

    name = models.CharField(_("nombre"), max_length=100)
    value = models.TextField(_("valor"))
    is_system = models.BooleanField(_("de sistema"), default=False, editable=False)
    webfon = models.BooleanField(_("para extensiones webfon"), default=False)
    copied_from = models.ForeignKey(
        "self",
        verbose_name=_("copiada de"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="copies",
    )
    created_at = models.DateTimeField(_("creada"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modificada"), auto_now=True)

    class Meta:
        ordering = ["-is_system", "name"]
        verbose_name = _("plantilla")
        verbose_name_plural = _("plantillas")
        constraints = [
            models.UniqueConstraint(fields=["name"], name="template_name_unique"),
            models.CheckConstraint(
                condition=models.Q(webfon=False) | models.Q(name__contains=WEBFON_TEMPLATE_MARK),
                name="template_webfon_name_has_mark",
            ),
            models.CheckConstraint(
                condition=models.Q(is_system=False) | models.Q(webfon=True),
                name="template_system_is_webfon",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.webfon and WEBFON_TEMPLATE_MARK not in (self.name or ""):
            raise ValidationError(
                {
                    "name": _(
                        "El nombre «%(name)s» no contiene «%(mark)s»: una plantilla para "
                        "extensiones webfon debe conservar ese texto en su nombre."
                    )
                    % {"name": self.name, "mark": WEBFON_TEMPLATE_MARK}
                }
            )

    def render(self, number: str) -> str:
        return render_sip_options(self.value, number)


class Extension(SecretsMixin, models.Model):
    """A SIP extension on a corporate node ("Vivait Call > Dispositivos > Extensiones").

    Physical extensions are provisioned on a terminal and may have an owner user; webfon
    extensions use a webfon template, are never provisioned, and are either a user's fixed
    webfon extension or a member of a pool. Both kinds consume one licence.
    """

    class Kind(models.TextChoices):
        PHYSICAL = "physical", _("Física")
        WEBFON = "webfon", _("Webfon")

    AUDIT_SECRET_FIELDS = ("registration_secret",)

    number = models.CharField(
        _("extensión"), max_length=NUMBER_MAX_LENGTH, validators=[number_validator]
    )
    kind = models.CharField(_("tipo"), max_length=10, choices=Kind.choices)
    node = models.ForeignKey(
        "nodes.Node", verbose_name=_("nodo"), on_delete=models.PROTECT, related_name="extensions"
    )
    template = models.ForeignKey(
        Template,
        verbose_name=_("plantilla"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="extensions",
    )
    site = models.CharField(_("sede"), max_length=100)
    department = models.CharField(_("departamento"), max_length=100)
    registration_secret = EncryptedTextField(
        _("clave de registro"),
        default=generate_registration_secret,
        validators=[MinLengthValidator(12)],
    )
    owner = models.ForeignKey(
        "users.PortalUser",
        verbose_name=_("usuario propietario"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_extensions",
    )
    pool = models.ForeignKey(
        "extensions.ExtensionPool",
        verbose_name=_("pool de extensiones"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="members",
    )
    created_at = models.DateTimeField(_("creada"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modificada"), auto_now=True)

    class Meta:
        ordering = ["number"]
        verbose_name = _("extensión")
        verbose_name_plural = _("extensiones")
        constraints = [
            models.UniqueConstraint(fields=["number"], name="extension_number_unique"),
            models.CheckConstraint(
                condition=models.Q(kind__in=["physical", "webfon"]), name="extension_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(kind="webfon") | models.Q(pool__isnull=True),
                name="extension_physical_never_in_pool",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="physical") | models.Q(owner__isnull=True),
                name="extension_owner_only_physical",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="physical") | models.Q(template__isnull=False),
                name="extension_webfon_has_template",
            ),
        ]
        indexes = [models.Index(fields=["kind", "pool"], name="extension_kind_pool_idx")]

    def __str__(self) -> str:
        return self.number

    @property
    def is_webfon(self) -> bool:
        return self.kind == self.Kind.WEBFON

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.node_id is not None and self.node.kind != "corporate":
            errors["node"] = _(
                "El nodo «%(node)s» es de tipo Webrtc; las extensiones se dan de alta en un "
                "nodo corporativo."
            ) % {"node": self.node.name}
        if self.kind == self.Kind.PHYSICAL and self.pool_id is not None:
            errors["pool"] = _(
                "La extensión %(number)s es física: una extensión física nunca pertenece a un "
                "pool de extensiones."
            ) % {"number": self.number}
        if self.kind == self.Kind.WEBFON:
            if self.owner_id is not None:
                errors["owner"] = _(
                    "La extensión %(number)s es webfon: solo una extensión física tiene usuario "
                    "propietario (el usuario de una extensión webfon se asigna en el usuario)."
                ) % {"number": self.number}
            if self.template_id is None:
                errors["template"] = _(
                    "La extensión webfon %(number)s necesita una plantilla para extensiones "
                    "webfon («%(name)s» o una copia suya)."
                ) % {"number": self.number, "name": SYSTEM_TEMPLATE_NAME}
            elif not self.template.webfon:
                errors["template"] = _(
                    "La plantilla «%(template)s» no es para extensiones webfon; la extensión "
                    "webfon %(number)s necesita «%(name)s» o una copia suya."
                ) % {
                    "template": self.template.name,
                    "number": self.number,
                    "name": SYSTEM_TEMPLATE_NAME,
                }
        if errors:
            raise ValidationError(errors)

    def sip_options(self) -> str:
        """The SIP options of this extension, from its template (empty without one)."""
        return self.template.render(self.number) if self.template_id else ""


class ExtensionPool(models.Model):
    """A group of webfon extensions shared by users ("Pool de extensiones").

    The base extension gives the profile (node, template, site, department) of the
    extensions created from a range; it is a member only if added explicitly.
    """

    name = models.CharField(_("nombre"), max_length=100)
    base_extension = models.ForeignKey(
        Extension,
        verbose_name=_("extensión base"),
        on_delete=models.PROTECT,
        related_name="base_of_pools",
    )
    description = models.TextField(_("descripción"), blank=True)

    class Relogin(models.TextChoices):
        REUSE = "reuse", _("Reutilizar su extensión (la sesión sigue, con un token nuevo)")
        REFUSE = "refuse", _("Rechazar el nuevo inicio de sesión")
        REPLACE = "replace", _("Terminar la sesión anterior y abrir una nueva")

    # Hot-desking policy: enforced by the webfon login and the beat's session sweep.
    max_session_minutes = models.PositiveIntegerField(
        _("tiempo máximo de sesión (minutos)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_SESSION_MINUTES)],
        help_text=_(
            "Una sesión más larga se termina y su extensión queda libre. Vacío: sin límite."
        ),
    )
    daily_release_time = models.TimeField(
        _("hora de liberación diaria"),
        null=True,
        blank=True,
        help_text=_(
            "Cada día a esta hora (hora local) terminan todas las sesiones del pool. Vacío: nunca."
        ),
    )
    relogin = models.CharField(
        _("si un usuario con sesión vuelve a entrar"),
        max_length=8,
        choices=Relogin.choices,
        default=Relogin.REUSE,
    )
    created_at = models.DateTimeField(_("creado"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modificado"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("pool de extensiones")
        verbose_name_plural = _("pools de extensiones")
        constraints = [
            models.UniqueConstraint(fields=["name"], name="extensionpool_name_unique"),
            models.CheckConstraint(
                condition=models.Q(relogin__in=["reuse", "refuse", "replace"]),
                name="extensionpool_relogin_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.base_extension_id is not None and self.base_extension.kind != Extension.Kind.WEBFON:
            raise ValidationError(
                {
                    "base_extension": _(
                        "La extensión base %(number)s es física; la extensión base de un pool "
                        "debe ser una extensión webfon."
                    )
                    % {"number": self.base_extension.number}
                }
            )
