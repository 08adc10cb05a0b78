import datetime
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
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from core.models import AuditEntry
from core.ui import ObjectListView
from licensing.selectors import license_usage
from nodes.models import Node, Push
from nodes.selectors import nodes_with_last_push
from nodes.services import CERTIFICATE_WARNING_DAYS
from portal.filtersets import AuditEntryFilterSet
from portal.health import health_report
from portal.metrics import metrics_allowed, metrics_text
from portal.selectors import installation_counts
from webfon.models import LOGIN_OUTCOME_LABELS
from webfon.selectors import login_outcomes_since, pools_in_use, webfon_sessions_live


class DashboardView(LoginRequiredMixin, TemplateView):
    """The operations overview: webfon sessions now, each pool's members in use, the logins
    of the last 24 h by outcome, each WebRTC node's last push (and, loaded after the page,
    the sessions it reports), licences. htmx asks for the body again every 30 s. The same
    number of queries whatever the installation's size."""

    template_name = "portal/dashboard.html"

    def get_template_names(self):
        if self.request.headers.get("HX-Request"):
            return ["portal/_dashboard_body.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        now = timezone.now()
        context["now"] = now
        if user.has_perm("extensions.view_extension"):
            context["counts"] = installation_counts()
        if user.has_perm("webfon.view_webfonsession"):
            context["sessions_now"] = webfon_sessions_live().count()
            outcomes = login_outcomes_since(now - datetime.timedelta(hours=24))
            context["logins_ok"] = outcomes.pop("ok", 0)
            context["refusals"] = [
                (code, LOGIN_OUTCOME_LABELS.get(code, code), count)
                for code, count in sorted(outcomes.items(), key=lambda item: (-item[1], item[0]))
            ]
        if user.has_perm("extensions.view_extensionpool"):
            context["pools"] = pools_in_use()
        if user.has_perm("nodes.view_node"):
            nodes = list(
                nodes_with_last_push(Node.objects.filter(kind=Node.Kind.WEBRTC)).order_by("name")
            )
            for node in nodes:
                # An unsaved push carrying the state, for the shared state badge.
                node.last_push = Push(status=node.last_push_status) if node.last_push_id else None
                node.certificate_days = (
                    None
                    if node.certificate_not_after is None
                    else (node.certificate_not_after - now).days
                )
            context["webrtc_nodes"] = nodes
            context["certificates_expiring"] = [
                node
                for node in nodes
                if node.certificate_days is not None
                and node.certificate_days < max(CERTIFICATE_WARNING_DAYS)
            ]
        context["usage"] = license_usage()
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


@method_decorator(never_cache, name="dispatch")
class MetricsView(View):
    """Prometheus' scrape: from METRICS_ALLOWED_NETWORKS or with METRICS_TOKEN, else 403."""

    http_method_names = ["get", "head"]

    def get(self, request):
        if not metrics_allowed(
            remote_addr=request.META.get("REMOTE_ADDR", ""),
            forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR"),
            authorization=request.META.get("HTTP_AUTHORIZATION", ""),
        ):
            return HttpResponse(
                "403: /metrics solo se sirve a las direcciones de METRICS_ALLOWED_NETWORKS o "
                "con METRICS_TOKEN.\n",
                status=403,
                content_type="text/plain; charset=utf-8",
            )
        return HttpResponse(metrics_text(), content_type=CONTENT_TYPE_LATEST)
