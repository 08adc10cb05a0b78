"""Base classes of the API's viewsets: every write goes through a service function."""

from collections.abc import Callable
from typing import Any

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import filters, serializers, viewsets
from rest_framework.validators import UniqueTogetherValidator, UniqueValidator

from portal.actors import Actor
from portal.api.permissions import model_permissions
from portal.models import ApiToken


def request_actor(request) -> Actor:
    """The audit author of an API request: the token (with its owner) or the session user."""
    if isinstance(request.auth, ApiToken):
        return Actor.for_token(user=request.user, token_prefix=request.auth.prefix)
    return Actor.for_user(request.user)


class ServiceModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer that checks types and formats only.

    Uniqueness and every rule across rows are the services' job (they answer 409 with a
    message naming the value), so the validators DRF derives from unique constraints are
    dropped here.
    """

    def build_field(self, field_name, info, model_class, nested_depth):
        field_class, field_kwargs = super().build_field(field_name, info, model_class, nested_depth)
        if "validators" in field_kwargs:
            field_kwargs["validators"] = [
                v for v in field_kwargs["validators"] if not isinstance(v, UniqueValidator)
            ]
        return field_class, field_kwargs

    def get_validators(self):
        return [v for v in super().get_validators() if not isinstance(v, UniqueTogetherValidator)]


class ServiceModelViewSet(viewsets.ModelViewSet):
    """CRUD over a model where create / update / destroy call the app's services.

    Subclasses set ``create_service``, ``update_service``, ``delete_service`` and
    ``service_instance_kwarg`` (the keyword the update/delete services take the row by),
    and may map extra actions to permissions in ``action_permissions``.
    """

    create_service: Callable[..., Any] | None = None
    update_service: Callable[..., Any] | None = None
    delete_service: Callable[..., Any] | None = None
    service_instance_kwarg: str = ""
    action_permissions: dict[str, list[str]] = {}
    filter_backends = [DjangoFilterBackend, filters.SearchFilter, filters.OrderingFilter]
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def get_required_permissions(self, request) -> list[str]:
        if self.action in self.action_permissions:
            return self.action_permissions[self.action]
        return model_permissions(self.queryset.model, request.method)

    def service_data(self, serializer) -> dict[str, Any]:
        return dict(serializer.validated_data)

    def perform_create(self, serializer) -> None:
        serializer.instance = type(self).create_service(
            actor=request_actor(self.request), **self.service_data(serializer)
        )

    def perform_update(self, serializer) -> None:
        serializer.instance = type(self).update_service(
            actor=request_actor(self.request),
            **{self.service_instance_kwarg: serializer.instance},
            **self.service_data(serializer),
        )

    def perform_destroy(self, instance) -> None:
        type(self).delete_service(
            actor=request_actor(self.request), **{self.service_instance_kwarg: instance}
        )
