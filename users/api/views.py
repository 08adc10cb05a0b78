from dataclasses import asdict

from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.permissions import model_permissions
from core.api.viewsets import ServiceModelViewSet, request_actor
from users import services
from users.api.serializers import (
    ExemptNetworkSerializer,
    LdapSettingsSerializer,
    LdapTestResultSerializer,
    LdapTestSerializer,
    PasswordSerializer,
    PortalUserSerializer,
)
from users.filtersets import ExemptNetworkFilterSet, PortalUserFilterSet
from users.ldap import ldap_find_user
from users.models import LdapSettings, PortalUser, SecondFactorExemptNetwork
from users.selectors import ldap_settings_get, ldap_settings_preview, mobility_extension_subquery


class PortalUserViewSet(ServiceModelViewSet):
    """Webfon users ("General > Usuarios > Administrar usuarios")."""

    queryset = PortalUser.objects.all()
    serializer_class = PortalUserSerializer
    filterset_class = PortalUserFilterSet
    search_fields = ["account", "name", "login_number", "email"]
    ordering_fields = ["account", "name", "login_number", "email", "created_at"]
    ordering = ["account"]
    create_service = services.portal_user_create
    update_service = services.portal_user_update
    delete_service = services.portal_user_delete
    service_instance_kwarg = "user"
    action_permissions = {"password": ["users.change_portaluser"]}

    def get_queryset(self):
        # Built per request: "live" compares with the time of this request.
        return PortalUser.objects.annotate(mobility_extension=mobility_extension_subquery())

    @extend_schema(request=PasswordSerializer, responses={204: None})
    @action(detail=True, methods=["post"])
    def password(self, request, pk=None):
        """Set the user's portal (Vivait-Suite) password."""
        params = PasswordSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        services.portal_user_set_password(
            actor=request_actor(request),
            user=self.get_object(),
            password=params.validated_data["password"],
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class ExemptNetworkViewSet(ServiceModelViewSet):
    """Networks from which no second factor is asked (serCen's f1factor_NN)."""

    queryset = SecondFactorExemptNetwork.objects.all()
    serializer_class = ExemptNetworkSerializer
    filterset_class = ExemptNetworkFilterSet
    search_fields = ["network", "description"]
    ordering_fields = ["network", "created_at"]
    ordering = ["network"]
    http_method_names = ["get", "post", "delete", "head", "options"]
    create_service = services.exempt_network_create
    delete_service = services.exempt_network_delete
    service_instance_kwarg = "network"


class LdapSettingsView(generics.RetrieveUpdateAPIView):
    """The single LDAP settings object ("General > Configurar LDAP")."""

    serializer_class = LdapSettingsSerializer
    queryset = LdapSettings.objects.all()
    # As the page (accounts.sudo.SessionSudoPermission): the bind account and its password.
    sudo_actions = {"put": "users.change_ldapsettings", "patch": "users.change_ldapsettings"}

    def get_required_permissions(self, request) -> list[str]:
        return model_permissions(LdapSettings, request.method)

    def get_object(self) -> LdapSettings:
        return ldap_settings_get()

    def perform_update(self, serializer) -> None:
        serializer.instance = services.ldap_settings_update(
            actor=request_actor(self.request), **serializer.validated_data
        )


class LdapTestView(APIView):
    """Bind with the service account and search one account; answers what the server said.

    Uses the stored settings, or unsaved values sent with the request; saves nothing.
    """

    # The page's "Probar" is behind its re-authentication: a test may bind with the stored
    # password (accounts.sudo.SessionSudoPermission).
    sudo_actions = {"post": "users.change_ldapsettings"}

    def get_required_permissions(self, request) -> list[str]:
        return ["users.change_ldapsettings"]

    @extend_schema(request=LdapTestSerializer, responses=LdapTestResultSerializer)
    def post(self, request):
        params = LdapTestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        values = dict(params.validated_data)
        account = values.pop("account")
        settings_row = ldap_settings_preview(**values)
        return Response(asdict(ldap_find_user(settings=settings_row, account=account)))
