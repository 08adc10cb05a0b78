"""Nodes of the platform."""

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

hostname_validator = RegexValidator(
    r"^[A-Za-z0-9]([A-Za-z0-9\-\.]{0,251}[A-Za-z0-9])?$",
    _("Escriba un nombre de dominio o una dirección IP válidos (letras, dígitos, '-' y '.')."),
)


class Node(models.Model):
    """A machine of the platform.

    Corporate nodes register physical extensions and host webfon extensions; the WebRTC
    node runs serCen, janus, apache and FonBO and receives the configuration the portal pushes.
    """

    class Kind(models.TextChoices):
        CORPORATE = "corporate", _("Corporativo")
        WEBRTC = "webrtc", _("Webrtc")

    class Transport(models.TextChoices):
        SSH = "ssh", _("SSH")
        LOCAL = "local", _("Local (directorio de este servidor)")

    name = models.CharField(_("nombre"), max_length=100)
    kind = models.CharField(_("tipo"), max_length=10, choices=Kind.choices)
    address = models.CharField(
        _("dirección"), max_length=253, blank=True, validators=[hostname_validator]
    )
    domain = models.CharField(
        _("dominio"), max_length=253, blank=True, validators=[hostname_validator]
    )
    transport = models.CharField(
        _("transporte"), max_length=10, choices=Transport.choices, default=Transport.SSH
    )
    description = models.TextField(_("descripción"), blank=True)
    created_at = models.DateTimeField(_("creado"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modificado"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("nodo")
        verbose_name_plural = _("nodos")
        constraints = [
            models.UniqueConstraint(fields=["name"], name="node_name_unique"),
            models.CheckConstraint(
                condition=models.Q(kind__in=["corporate", "webrtc"]), name="node_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(transport__in=["ssh", "local"]), name="node_transport_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_corporate(self) -> bool:
        return self.kind == self.Kind.CORPORATE
