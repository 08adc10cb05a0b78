from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.viewsets import request_actor
from licensing.api.serializers import (
    LicenseCalculationInputSerializer,
    LicenseCalculationSerializer,
    LicenseStockSerializer,
    LicenseSummarySerializer,
)
from licensing.calculator import LicenseEstimate, license_estimate
from licensing.selectors import LicenseUsage, license_usage
from licensing.services import license_stock_set


def summary_data(usage: LicenseUsage) -> dict[str, int]:
    return {
        "stock": usage.stock,
        "used_physical": usage.estimate.physical,
        "used_webfon": usage.estimate.webfon,
        "used_webfon_fixed": usage.estimate.fixed_webfon,
        "used_webfon_pool": usage.estimate.pooled_webfon,
        "used": usage.used,
        "free": usage.free,
        "percent_used": usage.percent_used,
    }


def calculation_data(estimate: LicenseEstimate) -> dict:
    return {
        "physical": estimate.physical,
        "fixed_webfon": estimate.fixed_webfon,
        "pool_sizes": list(estimate.pool_sizes),
        "webfon": estimate.webfon,
        "total": estimate.total,
        "summary": estimate.summary(),
    }


class LicenseSummaryView(APIView):
    """Licence stock and what the installation consumes."""

    def get_required_permissions(self, request) -> list[str]:
        return ["licensing.view_licensestock"]

    @extend_schema(responses=LicenseSummarySerializer)
    def get(self, request):
        return Response(summary_data(license_usage()))


class LicenseStockView(APIView):
    """Change the number of licences bought (never below what is in use)."""

    def get_required_permissions(self, request) -> list[str]:
        return ["licensing.change_licensestock"]

    @extend_schema(request=LicenseStockSerializer, responses=LicenseSummarySerializer)
    def put(self, request):
        params = LicenseStockSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        license_stock_set(actor=request_actor(request), stock=params.validated_data["stock"])
        return Response(summary_data(license_usage()))


class LicenseCalculateView(APIView):
    """The licence calculator of manual §7.3: physical + fixed webfon + every pool's size."""

    def get_required_permissions(self, request) -> list[str]:
        return ["licensing.use_calculator"]

    def _answer(self, data):
        params = LicenseCalculationInputSerializer(data=data)
        params.is_valid(raise_exception=True)
        values = params.validated_data
        estimate = license_estimate(
            physical=values["physical"],
            fixed_webfon=values["fixed_webfon"],
            pool_sizes=values["pool_size"],
        )
        return Response(calculation_data(estimate))

    @extend_schema(
        parameters=[
            OpenApiParameter("physical", int),
            OpenApiParameter("fixed_webfon", int),
            OpenApiParameter("pool_size", int, many=True, explode=True),
        ],
        responses=LicenseCalculationSerializer,
    )
    def get(self, request):
        query = request.query_params
        data = {key: query.get(key) for key in ("physical", "fixed_webfon") if key in query}
        if "pool_size" in query:
            data["pool_size"] = query.getlist("pool_size")
        return self._answer(data)

    @extend_schema(
        request=LicenseCalculationInputSerializer, responses=LicenseCalculationSerializer
    )
    def post(self, request):
        return self._answer(request.data)
