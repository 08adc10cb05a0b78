from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.generic import TemplateView

from licensing.selectors import license_usage
from portal.filtersets import AuditEntryFilterSet
from portal.health import health_report
from portal.models import AuditEntry
from portal.selectors import installation_counts
from portal.ui import ObjectListView


class DashboardView(LoginRequiredMixin, TemplateView):
    """Landing page after login: headline counts and licence occupation."""

    template_name = "portal/dashboard.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["counts"] = installation_counts()
        context["usage"] = license_usage()
        return context


class AuditEntryListView(ObjectListView):
    """Auditoría: who changed what, when, with the changed fields before and after."""

    model = AuditEntry
    filterset_class = AuditEntryFilterSet
    template_name = "portal/auditentry_list.html"
    columns = ["created_at", "actor_label", "action", "object_type", "object_repr", "changes"]
    ordering_fields = ["created_at", "actor_label", "action", "object_type"]
    default_ordering = ["-created_at", "-id"]


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
