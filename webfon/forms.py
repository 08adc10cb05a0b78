from core.ui import ServiceModelForm
from webfon.models import WebfonPolicy


class WebfonPolicyForm(ServiceModelForm):
    """General > Política de acceso webfon."""

    class Meta:
        model = WebfonPolicy
        fields = [
            "token_ttl_seconds",
            "pin_expiry_seconds",
            "pin_max_attempts",
            "pin_length",
            "password_validity_days",
            "password_min_length",
            "password_require_digits",
            "password_require_upper",
            "password_require_lower",
            "password_require_special",
            "account_max_failures",
            "ip_max_failures",
            "failure_window_seconds",
            "session_retention_days",
        ]
