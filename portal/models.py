"""The ``portal`` app's models are defined in the kit (core.models, app label ``portal``) so that
the kit never imports the project shell; importing them here registers them with this app."""

from core.models import ApiToken, AuditEntry

__all__ = ["ApiToken", "AuditEntry"]
