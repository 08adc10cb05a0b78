from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    """Staff accounts: login with lockout, second factor, re-authentication, password reset."""

    name = "accounts"
    verbose_name = _("Cuentas del personal")

    def ready(self) -> None:
        # The login signal that puts the account's language into its session.
        from accounts import language  # noqa: F401
