from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExtensionsConfig(AppConfig):
    """Physical and webfon extensions, pools of webfon extensions and SIP templates."""

    name = "extensions"
    verbose_name = _("Extensiones")
