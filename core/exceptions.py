"""Errors raised by the service layer.

Services raise django.core.exceptions.ValidationError keyed by field, so forms show the
message next to the field. A refusal caused by the state of *other* rows (a number already
taken, a pool member elsewhere, licences exhausted) is a ServiceConflict, which the API
answers with 409 instead of 400.
"""

from django.core.exceptions import ValidationError


class ServiceConflict(ValidationError):
    """The request is valid on its own but conflicts with the current state."""
