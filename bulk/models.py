"""An import: the file an administrator uploaded, its preview and what became of it."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.fields import EncryptedTextField


class Import(models.Model):
    """One uploaded file of users, extensions or pools.

    The preview (dry run) is stored with the file's SHA-256 and the outcome it planned for
    every row; applying it runs the file again in one transaction and is refused when the
    file or the outcome differs from the preview. The file is kept encrypted (a ``password``
    column holds passwords in clear) and dropped once the import is applied or refused.
    """

    class Kind(models.TextChoices):
        USERS = "users", _("Usuarios")
        EXTENSIONS = "extensions", _("Extensiones")
        POOLS = "pools", _("Pools de extensiones")

    class Status(models.TextChoices):
        PREVIEWED = "previewed", _("Vista previa")
        APPLIED = "applied", _("Aplicada")
        REFUSED = "refused", _("Rechazada")

    kind = models.CharField(_("tipo"), max_length=16, choices=Kind.choices)
    status = models.CharField(
        _("estado"), max_length=16, choices=Status.choices, default=Status.PREVIEWED
    )
    file_name = models.CharField(_("fichero"), max_length=255, blank=True)
    file_sha256 = models.CharField(_("SHA-256 del fichero"), max_length=64)
    # base64 of the file, encrypted at rest; "" once the import is applied or refused.
    content = EncryptedTextField(_("contenido"), blank=True, editable=False)
    rows = models.PositiveIntegerField(_("filas"), default=0)
    totals = models.JSONField(_("totales"), default=dict, blank=True)
    errors = models.JSONField(_("errores"), default=list, blank=True)
    # What the preview planned for each row ("new", "updated", "unchanged", "invalid").
    plan = models.JSONField(_("plan"), default=list, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("creada por"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_by_label = models.CharField(_("autor"), max_length=150, blank=True)
    created_at = models.DateTimeField(_("creada"), auto_now_add=True)
    finished_at = models.DateTimeField(_("terminada"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("importación")
        verbose_name_plural = _("importaciones")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["users", "extensions", "pools"]),
                name="import_kind_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["previewed", "applied", "refused"]),
                name="import_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.file_name} ({self.get_status_display()})"
