from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebfonConfig(AppConfig):
    """Webfon login: password check, second factor, tokens and mobility extensions."""

    name = "webfon"
    verbose_name = _("Acceso webfon")
