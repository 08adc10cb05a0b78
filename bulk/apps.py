from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BulkConfig(AppConfig):
    """Bulk import and export of users, extensions and pools (CSV and XLSX)."""

    name = "bulk"
    verbose_name = _("Importar / exportar")
