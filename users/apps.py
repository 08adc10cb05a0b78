from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class UsersConfig(AppConfig):
    """Webfon users, their validation and double factor, LDAP settings and exempt networks."""

    name = "users"
    verbose_name = _("Usuarios")
