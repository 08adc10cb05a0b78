"""Reads used by the dashboard."""

from django.utils.translation import gettext as _

from extensions.models import Extension, ExtensionPool
from nodes.models import Node
from users.models import PortalUser


def installation_counts() -> list[tuple[str, int]]:
    """Headline figures of the installation (one query per table)."""
    return [
        (_("Nodos"), Node.objects.count()),
        (_("Extensiones"), Extension.objects.count()),
        (_("Pools"), ExtensionPool.objects.count()),
        (_("Usuarios"), PortalUser.objects.count()),
    ]
