import json
import logging

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import TemplateView

from core.models import AuditEntry
from core.ui import ObjectListView
from licensing.selectors import license_usage
from nodes.selectors import node_certificates
from nodes.services import CERTIFICATE_WARNING_DAYS
from portal.filtersets import AuditEntryFilterSet
from portal.health import health_report
from portal.selectors import installation_counts

EXPIRY_BANNER_DAYS = max(CERTIFICATE_WARNING_DAYS)


class DashboardView(LoginRequiredMixin, TemplateView):
    """Landing page after login: headline counts and licence occupation."""

    template_name = "portal/dashboard.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["counts"] = installation_counts()
        context["usage"] = license_usage()
        if self.request.user.has_perm("nodes.view_node"):
            now = timezone.now()
            certificates = list(node_certificates())
            for certificate in certificates:
                certificate.days = certificate.days_left(now)
            context["certificates"] = certificates
            context["certificates_expiring"] = [
                c for c in certificates if c.days is not None and c.days < EXPIRY_BANNER_DAYS
            ]
        return context


class AuditEntryListView(ObjectListView):
    """Auditoría: who changed what, when, with the changed fields before and after."""

    model = AuditEntry
    filterset_class = AuditEntryFilterSet
    template_name = "portal/auditentry_list.html"
    columns = [
        "created_at",
        "actor_label",
        "client_ip",
        "action",
        "object_type",
        "object_repr",
        "changes",
    ]
    ordering_fields = ["created_at", "actor_label", "client_ip", "action", "object_type"]
    default_ordering = ["-created_at", "-id"]


csp_logger = logging.getLogger("portal.csp")
CSP_REPORT_MAX_BYTES = 64 * 1024


@method_decorator(csrf_exempt, name="dispatch")
class CspReportView(View):
    """Where browsers send Content-Security-Policy violations: one log line each.

    Public (a browser reports whatever page it was on), answers 204 and stores nothing."""

    http_method_names = ["post"]

    def post(self, request):
        if int(request.META.get("CONTENT_LENGTH") or 0) > CSP_REPORT_MAX_BYTES:
            return HttpResponse(status=413)
        try:
            body = json.loads(request.body or b"null")
        except (ValueError, UnicodeDecodeError):
            return HttpResponse(status=400)
        # report-uri sends {"csp-report": {...}}; the Reporting API a list of {"body": {...}}.
        reports = body if isinstance(body, list) else [body]
        for report in reports[:20]:
            if not isinstance(report, dict):
                continue
            data = report.get("csp-report") or report.get("body") or {}
            if not isinstance(data, dict):
                continue

            def field(*names, data=data) -> str:
                for name in names:
                    if data.get(name):
                        return str(data[name])[:300]
                return ""

            csp_logger.warning(
                "csp.violation document=%s directive=%s blocked=%s source=%s line=%s",
                field("document-uri", "documentURL"),
                field("violated-directive", "effective-directive", "effectiveDirective"),
                field("blocked-uri", "blockedURL"),
                field("source-file", "sourceFile"),
                field("line-number", "lineNumber"),
            )
        return HttpResponse(status=204)


@method_decorator(never_cache, name="dispatch")
class HealthView(View):
    """For monitors, without login: 200 when the database, the cache and the broker answer,
    503 naming the failing check(s) otherwise."""

    http_method_names = ["get", "head"]

    def get(self, request):
        checks = health_report()
        healthy = all(state == "ok" for state in checks.values())
        return JsonResponse(
            {"status": "ok" if healthy else "fail", "checks": checks},
            status=200 if healthy else 503,
        )
