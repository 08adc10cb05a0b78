from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NodesConfig(AppConfig):
    """Nodes of the platform: corporate (extensions register there) and WebRTC (serCen, janus)."""

    name = "nodes"
    verbose_name = _("Nodos")
