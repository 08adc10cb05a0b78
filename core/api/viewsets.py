"""Base classes of the API's viewsets: every write goes through a service function."""

from collections.abc import Callable
from operator import attrgetter
from typing import Any

from django_filters.filterset import BaseFilterSet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field
from rest_framework import ISO_8601, filters, serializers, viewsets
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject, PrimaryKeyRelatedField
from rest_framework.settings import api_settings
from rest_framework.validators import UniqueTogetherValidator, UniqueValidator

from core.actors import Actor
from core.api.permissions import model_permissions
from core.models import ApiToken


def request_actor(request) -> Actor:
    """The audit author of an API request: the token (with its owner) or the session user."""
    if isinstance(request.auth, ApiToken):
        return Actor.for_token(user=request.user, token_prefix=request.auth.prefix)
    return Actor.for_user(request.user)


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "readOnly": True,
        "description": "Stored secrets that cannot be used until entered again: field name -> "
        "why (it does not decrypt, or it was entered for another destination).",
    }
)
class SecretWarningsField(serializers.ReadOnlyField):
    """The row's ``secret_warnings()`` (see core.secrets)."""

    def __init__(self, **kwargs):
        super().__init__(source="*", **kwargs)

    def to_representation(self, value) -> dict[str, str]:
        return value.secret_warnings()


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

    def to_representation(self, instance):
        """DRF's ``to_representation``, with the work that is the same for every row done once.

        A list serializes its rows with one child serializer, so the plan below is built once
        per page: a field that reads a model column (or a foreign key's id, what
        PrimaryKeyRelatedField outputs) gets a plain attribute getter and a converter;
        any other field (methods, dotted sources, nested serializers) takes DRF's own path.
        The output is the same as DRF's.
        """
        plan = self.__dict__.get("_representation_plan")
        if plan is None:
            plan = self._representation_plan = self._build_representation_plan()
        ret = {}
        for name, read, convert, field in plan:
            if read is None:
                try:
                    attribute = field.get_attribute(instance)
                except SkipField:
                    continue
                check = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
                ret[name] = None if check is None else field.to_representation(attribute)
            else:
                value = read(instance)
                ret[name] = value if value is None or convert is None else convert(value)
        return ret

    def _build_representation_plan(self) -> list[tuple[str, Any, Any, serializers.Field]]:
        columns = {f.name: f for f in self.Meta.model._meta.concrete_fields}
        plan = []
        for field in self._readable_fields:
            column = columns.get(field.source) if len(field.source_attrs) == 1 else None
            read = convert = None
            if column is None:
                pass
            elif column.is_relation:
                if type(field) is PrimaryKeyRelatedField and field.pk_field is None:
                    read = attrgetter(column.attname)  # the id, as PKOnlyObject would give it
            else:
                read = attrgetter(column.attname)
                convert = _FAST_CONVERTERS.get(type(field), _fast_converter)(field)
            plan.append((field.field_name, read, convert, field))
        return plan


def _fast_converter(field: serializers.Field) -> Callable[[Any], Any]:
    return field.to_representation


def _datetime_converter(field: serializers.DateTimeField) -> Callable[[Any], Any]:
    """DateTimeField.to_representation for aware ISO 8601 output, with the time zone looked
    up once instead of per value (the rest, e.g. naive values, goes to DRF)."""
    output_format = getattr(field, "format", api_settings.DATETIME_FORMAT)
    zone = field.timezone if hasattr(field, "timezone") else field.default_timezone()
    if output_format is None or output_format.lower() != ISO_8601 or zone is None:
        return field.to_representation
    slow = field.to_representation

    def convert(value):
        if isinstance(value, str) or not value or value.utcoffset() is None:
            return slow(value)
        try:
            text = value.astimezone(zone).isoformat()
        except OverflowError:
            return slow(value)
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return convert


# Exact types only: a subclass may represent values its own way.
_FAST_CONVERTERS: dict[type, Callable[[Any], Callable[[Any], Any]]] = {
    serializers.CharField: lambda field: str,
    serializers.EmailField: lambda field: str,
    serializers.IntegerField: lambda field: int,
    serializers.DateTimeField: _datetime_converter,
}


class QueryFilterBackend(DjangoFilterBackend):
    """DjangoFilterBackend that builds no FilterSet when the request names none of its filters.

    A FilterSet copies all its filters and builds and validates a form on every request;
    without a value each filter leaves the queryset as it is (django-filter skips empty
    values), so a plain list page needs none of that. A FilterSet with a required filter or
    its own ``filter_queryset`` always takes the full path.
    """

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None:
            return queryset
        names = filterset_class.base_filters
        plain = (
            filterset_class.filter_queryset is BaseFilterSet.filter_queryset
            and filterset_class.qs is BaseFilterSet.qs
            and not any(f.extra.get("required") for f in names.values())
        )
        # Widgets of several inputs read name_<suffix> (name_min, name_after, ...).
        if plain and not any(
            param in names or any(param.startswith(f"{name}_") for name in names)
            for param in request.query_params
        ):
            return queryset
        return super().filter_queryset(request, queryset, view)


# Filtering (one FilterSet for pages and API), ``search`` and ``ordering`` on every list.
LIST_FILTER_BACKENDS = [QueryFilterBackend, filters.SearchFilter, filters.OrderingFilter]


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
    filter_backends = LIST_FILTER_BACKENDS
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
