from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LicensingConfig(AppConfig):
    """Licence stock, consumption by extensions, and the sales calculator."""

    name = "licensing"
    verbose_name = _("Licencias")
