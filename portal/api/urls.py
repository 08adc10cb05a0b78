"""REST API v1: ``/api/v1/``."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from bulk.api.views import ExtensionExportView, ImportViewSet, PoolExportView, UserExportView
from extensions.api.views import ExtensionPoolViewSet, ExtensionViewSet, TemplateViewSet
from licensing.api.views import LicenseCalculateView, LicenseStockView, LicenseSummaryView
from nodes.api.views import NodeViewSet, PushViewSet
from portal.api.docs import ApiDocsView
from users.api.views import ExemptNetworkViewSet, LdapSettingsView, LdapTestView, PortalUserViewSet
from webfon.api.views import (
    PoolOccupancyView,
    WebfonLoginPinView,
    WebfonLoginView,
    WebfonLogoutView,
    WebfonPolicyView,
    WebfonSessionViewSet,
)

router = DefaultRouter()
router.register("extensions", ExtensionViewSet, basename="extension")
router.register("pools", ExtensionPoolViewSet, basename="pool")
router.register("templates", TemplateViewSet, basename="template")
router.register("nodes", NodeViewSet, basename="node")
router.register("pushes", PushViewSet, basename="push")
router.register("users", PortalUserViewSet, basename="portaluser")
router.register("exempt-networks", ExemptNetworkViewSet, basename="exemptnetwork")
router.register("imports", ImportViewSet, basename="import")
router.register("webfon/sessions", WebfonSessionViewSet, basename="webfonsession")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api_schema"),
    # The split view serves its start-up script as a file: no inline script (CSP).
    path("docs/", ApiDocsView.as_view(url_name="api_schema"), name="api_docs"),
    path("ldap/", LdapSettingsView.as_view(), name="ldapsettings_detail"),
    path("ldap/test/", LdapTestView.as_view(), name="ldapsettings_test"),
    path("licensing/summary/", LicenseSummaryView.as_view(), name="license_summary"),
    path("licensing/stock/", LicenseStockView.as_view(), name="licensestock_update"),
    path("licensing/calculate/", LicenseCalculateView.as_view(), name="license_calculate"),
    path("webfon/login/", WebfonLoginView.as_view(), name="webfon_login"),
    path("webfon/login/pin/", WebfonLoginPinView.as_view(), name="webfon_login_pin"),
    path("webfon/logout/", WebfonLogoutView.as_view(), name="webfon_logout"),
    path("webfon/policy/", WebfonPolicyView.as_view(), name="webfonpolicy_detail"),
    path("pools/<int:pk>/occupancy/", PoolOccupancyView.as_view(), name="pool_occupancy_api"),
    # Before the router: its detail routes would take "export" for an id.
    path("users/export/", UserExportView.as_view(), name="portaluser_export"),
    path("extensions/export/", ExtensionExportView.as_view(), name="extension_export"),
    path("pools/export/", PoolExportView.as_view(), name="pool_export"),
    path("", include(router.urls)),
]
