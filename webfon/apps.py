from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebfonConfig(AppConfig):
    """Webfon login: password check, second factor, tokens and mobility extensions."""

    name = "webfon"
    verbose_name = _("Acceso webfon")

    def ready(self) -> None:
        # The webfon login sits above users (docs/architecture.md): users reaches the sessions
        # and the access policy only through the hooks it owns, registered here.
        from users import hooks as user_hooks
        from webfon.selectors import webfon_policy_get, webfon_sessions_live
        from webfon.services import webfon_sessions_end_for_user

        user_hooks.user_access_changed.register(webfon_sessions_end_for_user)
        user_hooks.password_rules.register(webfon_policy_get)
        user_hooks.live_sessions.register(webfon_sessions_live)
