from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView

from licensing.selectors import license_usage
from portal.filtersets import AuditEntryFilterSet
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
