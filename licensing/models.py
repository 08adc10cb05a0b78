"""The licence stock of the installation (manual §7.3)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class LicenseStock(models.Model):
    """How many extension licences the customer bought; a single row.

    Physical and webfon extensions consume one licence each; web extensions (login
    numbers) consume none.
    """

    SINGLETON_ID = 1

    # A fixed primary key holds the single row (MariaDB refuses CHECKs on AUTO_INCREMENT).
    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    stock = models.PositiveIntegerField(_("licencias contratadas"), default=0)
    updated_at = models.DateTimeField(_("modificado"), auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("stock de licencias")
        verbose_name_plural = _("stock de licencias")
        permissions = [("use_calculator", _("Puede usar la calculadora de licencias"))]
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="licensestock_singleton"),
            models.CheckConstraint(
                condition=models.Q(stock__gte=0), name="licensestock_stock_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return str(_("%(stock)d licencias") % {"stock": self.stock})
