"""``/api/v1/webfon/``: the login API serCen's clients use, and the sessions administrators see."""

from django.conf import settings
from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.permissions import model_permissions
from core.api.viewsets import LIST_FILTER_BACKENDS, request_actor
from core.client_ip import client_ip, parse_networks
from extensions.models import ExtensionPool
from webfon import services
from webfon.api.serializers import (
    LoginAnswerSerializer,
    LoginSerializer,
    LogoutAnswerSerializer,
    LogoutSerializer,
    PinSerializer,
    PoolOccupancySerializer,
    RefusalSerializer,
    WebfonPolicySerializer,
    WebfonSessionSerializer,
)
from webfon.filtersets import WebfonSessionFilterSet
from webfon.forms import OccupancyQueryForm
from webfon.models import WebfonPolicy, WebfonSession
from webfon.selectors import pool_occupancy, webfon_policy_get

REFUSALS = {
    code: OpenApiResponse(RefusalSerializer, description=_("Rechazado, con el motivo en `reason`."))
    for code in (401, 403, 409)
}


def request_client_ip(request):
    """The connection's address, or the hop the right-most trusted proxy saw."""
    return client_ip(
        remote_addr=request.META.get("REMOTE_ADDR", ""),
        forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR"),
        trusted_proxies=parse_networks(settings.WEBFON_TRUSTED_PROXIES),
    )


def _answer(result: services.LoginResult) -> Response:
    if result.status == "pin_required":
        body = {"status": "pin_required", "challenge": result.challenge, "method": result.method}
    else:
        body = {
            "status": "ok",
            "token": result.token,
            "mobility_extension": result.mobility_extension,
            "expires_at": result.expires_at,
        }
    return Response(LoginAnswerSerializer(body).data)


# The HTTP status of each refusal of the login contract: an API matter, so it lives here and
# not on the service's LoginRefused.
REFUSAL_STATUS = {
    "bad_credentials": 401,
    "bad_pin": 401,
    "challenge_invalid": 401,
    "invalid_token": 401,
    "disabled": 403,
    "password_expired": 403,
    "locked": 403,
    "no_webfon_extension": 409,
    "pool_full": 409,
    "too_many_sessions": 409,
    "already_logged_in": 409,
    "second_factor_unavailable": 409,
}


def _refused(exc: services.LoginRefused) -> Response:
    return Response(exc.as_dict(), status=REFUSAL_STATUS[exc.reason])


class _PublicView(APIView):
    """Called by the webfon client itself: no portal account, no CSRF (no session auth)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def client_ip_or_400(self, request):
        address = request_client_ip(request)
        if address is None:
            return None, Response(
                {"detail": _("No se pudo determinar la dirección IP del cliente.")},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return address, None


class WebfonLoginView(_PublicView):
    @extend_schema(
        request=LoginSerializer,
        responses={200: LoginAnswerSerializer, **REFUSALS},
        summary="Webfon login (password step)",
    )
    def post(self, request):
        params = LoginSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        address, error = self.client_ip_or_400(request)
        if error:
            return error
        try:
            result = services.webfon_login(
                account=params.validated_data["account"],
                password=params.validated_data["password"],
                client_ip=address,
                application=params.validated_data["application"],
            )
        except services.LoginRefused as exc:
            return _refused(exc)
        return _answer(result)


class WebfonLoginPinView(_PublicView):
    @extend_schema(
        request=PinSerializer,
        responses={200: LoginAnswerSerializer, **REFUSALS},
        summary="Webfon login (second factor step)",
    )
    def post(self, request):
        params = PinSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        address, error = self.client_ip_or_400(request)
        if error:
            return error
        try:
            result = services.webfon_login_pin(
                challenge=params.validated_data["challenge"],
                pin=params.validated_data["pin"],
                client_ip=address,
            )
        except services.LoginRefused as exc:
            return _refused(exc)
        return _answer(result)


class WebfonLogoutView(_PublicView):
    @extend_schema(
        request=LogoutSerializer,
        responses={200: LogoutAnswerSerializer, 401: REFUSALS[401]},
        summary="Webfon logout (gives the mobility extension back)",
    )
    def post(self, request):
        params = LogoutSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            services.webfon_logout(token=params.validated_data["token"])
        except services.LoginRefused as exc:
            return _refused(exc)
        return Response({"status": "ok"})


class WebfonSessionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Who is logged in to webfon, from where, with which extension (administrators).
    ``DELETE`` forces the logout and gives the extension back."""

    serializer_class = WebfonSessionSerializer
    filter_backends = LIST_FILTER_BACKENDS
    filterset_class = WebfonSessionFilterSet
    search_fields = ["user__account", "extension_number", "client_ip"]
    ordering_fields = ["started_at", "expires_at", "extension_number"]
    ordering = ["-started_at", "-id"]

    def get_queryset(self):
        queryset = WebfonSession.objects.select_related("user", "pool_extension").only(
            *(f.attname for f in WebfonSession._meta.concrete_fields),
            "user__account",
            "pool_extension__pool_id",
        )
        if self.action == "list" and "state" not in self.request.query_params:
            # By default, the sessions in force.
            queryset = queryset.filter(
                Q(state=WebfonSession.State.ACTIVE) & Q(expires_at__gt=timezone.now())
            )
        return queryset

    def get_required_permissions(self, request) -> list[str]:
        # Origin addresses and forced logouts are the administrators' business only.
        return ["webfon.delete_webfonsession"]

    def perform_destroy(self, instance):
        services.webfon_session_end(actor=request_actor(self.request), session=instance)


class WebfonPolicyView(generics.RetrieveUpdateAPIView):
    """The single webfon access policy object (password rules, PIN, tokens, lockout)."""

    serializer_class = WebfonPolicySerializer
    queryset = WebfonPolicy.objects.all()

    def get_required_permissions(self, request) -> list[str]:
        return model_permissions(WebfonPolicy, request.method)

    def get_object(self) -> WebfonPolicy:
        return webfon_policy_get()

    def perform_update(self, serializer) -> None:
        serializer.instance = services.webfon_policy_update(
            actor=request_actor(self.request), **serializer.validated_data
        )


class PoolOccupancyView(APIView):
    """``GET /api/v1/pools/{id}/occupancy/?days=30&tolerance=0``: the pool's measured demand
    over the window (peak concurrent sessions, hours full, ``pool_full`` refusals), the size
    that would have served every login but ``tolerance``, and the hourly and daily series."""

    def get_required_permissions(self, request) -> list[str]:
        return ["extensions.view_extensionpool"]

    @extend_schema(
        parameters=[
            OpenApiParameter("days", int, description="1-400 (30 by default)"),
            OpenApiParameter("tolerance", int, description="refusals accepted (0 by default)"),
        ],
        responses={200: PoolOccupancySerializer},
        summary="Pool occupancy history and recommended size",
    )
    def get(self, request, pk: int):
        pool = get_object_or_404(ExtensionPool, pk=pk)
        form = OccupancyQueryForm(request.query_params)
        if not form.is_valid():
            raise ValidationError(form.errors)
        occupancy = pool_occupancy(
            pool=pool, days=form.cleaned_data["days"], tolerance=form.cleaned_data["tolerance"]
        )
        return Response(PoolOccupancySerializer(occupancy).data)
