from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView

from licensing.selectors import license_usage
from portal.selectors import installation_counts


class DashboardView(LoginRequiredMixin, TemplateView):
    """Landing page after login: headline counts and licence occupation."""

    template_name = "portal/dashboard.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["counts"] = installation_counts()
        context["usage"] = license_usage()
        return context
