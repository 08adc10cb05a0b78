from django.urls import include, path

from accounts.language import set_language
from portal import token_views, views
from users.ldap_views import LdapSettingsView

urlpatterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("healthz", views.HealthView.as_view(), name="healthz"),
    path("metrics", views.MetricsView.as_view(), name="metrics"),
    path("", include("accounts.urls")),
    # Django's set_language, remembered on the staff account (accounts/language.py).
    path("i18n/setlang/", set_language, name="set_language"),
    path("api/v1/", include("portal.api.urls")),
    path("nodos/", include("nodes.urls")),
    path("usuarios/", include("users.urls")),
    path("ldap/", LdapSettingsView.as_view(), name="ldapsettings_update"),
    path("webfon/", include("webfon.urls")),
    path("licencias/", include("licensing.urls")),
    path("tokens/", token_views.ApiTokenListView.as_view(), name="apitoken_list"),
    path(
        "tokens/<int:pk>/revocar/", token_views.ApiTokenRevokeView.as_view(), name="apitoken_revoke"
    ),
    path("csp-report/", views.CspReportView.as_view(), name="csp_report"),
    path("auditoria/", views.AuditEntryListView.as_view(), name="auditentry_list"),
    path("importar-exportar/", include("bulk.urls")),
    path("", include("extensions.urls")),
]

handler404 = "core.api.errors.not_found"
