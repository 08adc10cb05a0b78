"""Audit trail: one row per write made through a service, in the same transaction; and the
API tokens that the audit trail names as authors.

These models belong to the Django app ``portal`` (``app_label``, tables and migrations stay
``portal_*`` in ``portal/migrations``): they are defined in the kit so that the kit (audit,
API authentication bases) needs no import of the project shell. ``portal/models.py`` imports
them so Django finds them when it loads the ``portal`` app.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    """Who changed what and when, with the changed fields before and after (secrets masked)."""

    class ActorKind(models.TextChoices):
        USER = "user", _("Usuario del portal")
        TOKEN = "token", _("Token de API")
        SYSTEM = "system", _("Sistema")

    created_at = models.DateTimeField(_("fecha"), auto_now_add=True, db_index=True)
    actor_kind = models.CharField(_("tipo de autor"), max_length=10, choices=ActorKind.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("usuario"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_entries",
    )
    actor_label = models.CharField(_("autor"), max_length=150)
    client_ip = models.GenericIPAddressField(_("dirección"), null=True, blank=True, db_index=True)
    action = models.CharField(_("acción"), max_length=64, db_index=True)
    object_type = models.CharField(_("tipo de objeto"), max_length=64)
    object_id = models.CharField(_("id del objeto"), max_length=64, blank=True)
    object_repr = models.CharField(_("objeto"), max_length=200, blank=True)
    changes = models.JSONField(_("cambios"), default=dict, blank=True)

    class Meta:
        app_label = "portal"
        ordering = ["-created_at", "-id"]
        verbose_name = _("entrada de auditoría")
        verbose_name_plural = _("entradas de auditoría")
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(actor_kind__in=["user", "token", "system"]),
                name="auditentry_actor_kind_valid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action} {self.object_repr}"


class ApiToken(models.Model):
    """A key for the REST API (``Authorization: Token <key>``), owned by a staff account.

    Only a SHA-256 digest of the key is stored; the key is shown once, when created.
    The token acts with its owner's role.
    """

    PREFIX_LENGTH = 8

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("usuario"),
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    name = models.CharField(_("nombre"), max_length=100, blank=True)
    prefix = models.CharField(_("prefijo"), max_length=PREFIX_LENGTH, db_index=True, editable=False)
    key_digest = models.CharField(_("resumen de la clave"), max_length=64, editable=False)
    created_at = models.DateTimeField(_("creado"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("último uso"), null=True, blank=True, editable=False)
    last_used_ip = models.GenericIPAddressField(
        _("dirección del último uso"), null=True, blank=True, editable=False
    )
    expires_at = models.DateTimeField(_("caduca"), editable=False)
    # A read-only token authenticates GET/HEAD/OPTIONS only.
    read_only = models.BooleanField(_("solo lectura"), default=False)
    revoked_at = models.DateTimeField(_("revocado"), null=True, blank=True, editable=False)

    class Meta:
        app_label = "portal"
        ordering = ["-created_at", "-id"]
        verbose_name = _("token de API")
        verbose_name_plural = _("tokens de API")
        constraints = [
            models.UniqueConstraint(fields=["key_digest"], name="apitoken_key_digest_unique")
        ]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired
