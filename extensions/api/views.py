from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api.viewsets import ServiceModelViewSet, request_actor
from core.secrets import unreadable_warning
from extensions import services
from extensions.api.serializers import (
    ExtensionPoolSerializer,
    ExtensionSecretSerializer,
    ExtensionSerializer,
    PoolRangeSerializer,
    TemplateDuplicateSerializer,
    TemplateSerializer,
)
from extensions.filtersets import ExtensionFilterSet, ExtensionPoolFilterSet, TemplateFilterSet
from extensions.models import Extension, ExtensionPool, Template


class ExtensionViewSet(ServiceModelViewSet):
    """Physical and webfon extensions ("Vivait Call > Dispositivos > Extensiones")."""

    queryset = Extension.objects.all()
    serializer_class = ExtensionSerializer
    filterset_class = ExtensionFilterSet
    search_fields = ["number", "site", "department"]
    ordering_fields = ["number", "kind", "site", "department", "created_at"]
    ordering = ["number"]
    create_service = services.extension_create
    update_service = services.extension_update
    delete_service = services.extension_delete
    service_instance_kwarg = "extension"
    action_permissions = {"secret": ["extensions.change_extension"]}
    # As the page's "Mostrar clave" (accounts.sudo.SessionSudoPermission).
    sudo_actions = {"secret": "extensions.change_extension"}

    @extend_schema(responses=ExtensionSecretSerializer)
    @action(detail=True, methods=["get"])
    def secret(self, request, pk=None):
        """The registration secret in clear (administrators; every reveal is audited). One that
        no longer decrypts (the key changed) comes back empty, with ``warning`` saying so."""
        secret = services.extension_reveal_secret(
            actor=request_actor(request), extension=self.get_object()
        )
        return Response({"registration_secret": secret, "warning": unreadable_warning(secret)})


class ExtensionPoolViewSet(ServiceModelViewSet):
    """Pools of webfon extensions ("Vivait Call > Dispositivos > Pool de extensiones")."""

    queryset = ExtensionPool.objects.prefetch_related("members")
    serializer_class = ExtensionPoolSerializer
    filterset_class = ExtensionPoolFilterSet
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at"]
    ordering = ["name"]
    service_instance_kwarg = "pool"
    delete_service = services.pool_delete
    action_permissions = {"range": ["extensions.add_extension", "extensions.change_extensionpool"]}

    def perform_create(self, serializer) -> None:
        serializer.instance = services.pool_create(
            actor=request_actor(self.request), **serializer.validated_data
        )

    def perform_update(self, serializer) -> None:
        data = dict(serializer.validated_data)
        members = data.pop("members", None)
        actor = request_actor(self.request)
        pool = services.pool_update(actor=actor, pool=serializer.instance, **data)
        if members is not None:
            services.pool_set_members(actor=actor, pool=pool, extensions=members)
        serializer.instance = ExtensionPool.objects.prefetch_related("members").get(pk=pool.pk)

    @extend_schema(request=PoolRangeSerializer, responses={201: ExtensionSerializer(many=True)})
    @action(detail=True, methods=["post"])
    def range(self, request, pk=None):
        """Create webfon extensions first..last with the base's profile, all or nothing."""
        params = PoolRangeSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        created = services.pool_create_range(
            actor=request_actor(request), pool=self.get_object(), **params.validated_data
        )
        return Response(
            ExtensionSerializer(created, many=True).data, status=status.HTTP_201_CREATED
        )


class TemplateViewSet(ServiceModelViewSet):
    """SIP templates ("General > Plantillas"); the system template is read-only."""

    queryset = Template.objects.all()
    serializer_class = TemplateSerializer
    filterset_class = TemplateFilterSet
    search_fields = ["name", "value"]
    ordering_fields = ["name", "created_at"]
    ordering = ["-is_system", "name"]
    create_service = services.template_create
    update_service = services.template_update
    delete_service = services.template_delete
    service_instance_kwarg = "template"
    action_permissions = {"duplicate": ["extensions.add_template"]}

    @extend_schema(request=TemplateDuplicateSerializer, responses={201: TemplateSerializer})
    @action(detail=True, methods=["post"])
    def duplicate(self, request, pk=None):
        """Copy a template (a copy of a webfon template keeps "Extensiones webfon" in its name)."""
        params = TemplateDuplicateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        copy = services.template_duplicate(
            actor=request_actor(request),
            template=self.get_object(),
            name=params.validated_data["name"],
        )
        return Response(TemplateSerializer(copy).data, status=status.HTTP_201_CREATED)
