from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

from core.roles import PORTAL_APPS, sync_roles


def _sync_roles_after_migrate(sender, **kwargs) -> None:
    # Permissions of models added after the roles migration join the groups here.
    from django.apps import apps

    sync_roles(apps)


class PortalConfig(AppConfig):
    """Shared base of the portal: audit trail, roles, encrypted fields, actors."""

    name = "portal"
    verbose_name = _("Portal")

    def ready(self) -> None:
        from django.apps import apps

        from portal import checks  # noqa: F401 - registers the system checks
        from portal.auth_backends import connect_signals

        connect_signals()

        # Sent last for the last portal app, when every permission has been created.
        post_migrate.connect(
            _sync_roles_after_migrate,
            sender=apps.get_app_config(PORTAL_APPS[-1]),
            dispatch_uid="portal.sync_roles",
        )
