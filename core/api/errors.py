"""How the API answers refusals of the service layer.

A django ValidationError keyed by field becomes 400 ``{"field": ["message"]}``; a
ServiceConflict (number taken, pool member elsewhere, licences exhausted) becomes 409;
a row another row still needs (PROTECT) is a 409 too. Everything else is DRF's default,
except that an error body is always an object (``{"detail": "..."}`` for a bare message).
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, RestrictedError
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.defaults import page_not_found
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from core.exceptions import ServiceConflict


def validation_error_data(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {
            ("non_field_errors" if field == "__all__" else field): messages
            for field, messages in exc.message_dict.items()
        }
    return {"detail": " ".join(str(m) for m in exc.messages)}


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        code = (
            status.HTTP_409_CONFLICT
            if isinstance(exc, ServiceConflict)
            else status.HTTP_400_BAD_REQUEST
        )
        return Response(validation_error_data(exc), status=code)
    if isinstance(exc, ProtectedError | RestrictedError):
        objects = ", ".join(
            sorted(
                str(obj)
                for obj in list(
                    exc.protected_objects
                    if isinstance(exc, ProtectedError)
                    else exc.restricted_objects
                )[:10]
            )
        )
        return Response(
            {"detail": _("No se puede borrar: lo usan %(objects)s.") % {"objects": objects}},
            status=status.HTTP_409_CONFLICT,
        )
    response = exception_handler(exc, context)
    if response is not None and isinstance(response.data, list):
        # DRF answers a ValidationError raised with a bare message (e.g. a null character
        # in ?search=) as a JSON list; the schema's error bodies are objects.
        response.data = {"detail": " ".join(str(message) for message in response.data)}
    return response


def not_found(request, exception=None):
    """handler404: a URL under /api/ that no route matches (e.g. /api/v1/nodes/1.5/) answers
    JSON like the API's own 404s, not Django's HTML page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": _("No encontrado.")}, status=404)
    return page_not_found(request, exception)
