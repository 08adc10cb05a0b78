from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class UsersConfig(AppConfig):
    """Webfon users, their validation and double factor, LDAP settings and exempt networks."""

    name = "users"
    verbose_name = _("Usuarios")

    def ready(self) -> None:
        # users sits above extensions and nodes (docs/architecture.md): what they need from
        # users they call through the hooks they own, registered here.
        from extensions import hooks as extension_hooks
        from nodes import hooks as node_hooks
        from users import rules, selectors

        node_hooks.pools_in_use.register(selectors.users_share_pools)
        node_hooks.second_factor_exempt_networks.register(selectors.exempt_networks)
        extension_hooks.login_numbers_taken.register(rules.login_numbers_taken)
