from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExtensionsConfig(AppConfig):
    """Physical and webfon extensions, pools of webfon extensions and SIP templates."""

    name = "extensions"
    verbose_name = _("Extensiones")

    def ready(self) -> None:
        # extensions sits above licensing (docs/architecture.md): licensing counts the
        # extensions through the provider it owns, registered here.
        from extensions.selectors import extension_license_counts
        from licensing import hooks as licensing_hooks

        licensing_hooks.installation_counts.register(extension_license_counts)
