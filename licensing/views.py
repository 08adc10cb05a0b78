"""Licencias (summary, stock, history) and the sales calculator."""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from core.actors import Actor
from core.ui import RoleRequiredMixin, apply_service_errors
from licensing.calculator import license_estimate
from licensing.forms import LicenseCalculatorForm, LicenseStockForm
from licensing.selectors import license_installation_estimate, license_stock_history, license_usage
from licensing.services import license_stock_set

WARNING_PERCENT = 90


class LicenseSummaryView(RoleRequiredMixin, TemplateView):
    """Stock, consumption (physical, fixed webfon, pool members), free, and stock history."""

    template_name = "licensing/license_summary.html"
    permission_required = "licensing.view_licensestock"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        usage = license_usage()
        context.update(
            usage=usage,
            warning=usage.percent_used >= WARNING_PERCENT,
            history=license_stock_history(),
            can_change=self.request.user.has_perm("licensing.change_licensestock"),
        )
        context.setdefault("form", LicenseStockForm(initial={"stock": usage.stock}))
        return context

    def post(self, request, *args, **kwargs):
        if not request.user.has_perm("licensing.change_licensestock"):
            raise PermissionDenied
        form = LicenseStockForm(request.POST)
        if form.is_valid():
            try:
                license_stock_set(
                    actor=Actor.for_user(request.user), stock=form.cleaned_data["stock"]
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Stock de licencias actualizado."))
                return HttpResponseRedirect(reverse("license_summary"))
        return self.render_to_response(self.get_context_data(form=form), status=400)


class LicenseCalculatorView(RoleRequiredMixin, TemplateView):
    """Calculadora de licencias: inputs in the query string, so every result has a URL."""

    template_name = "licensing/license_calculator.html"
    permission_required = "licensing.use_calculator"

    def get(self, request, *args, **kwargs):
        if "from_installation" in request.GET:
            current = license_installation_estimate()
            query = [("physical", current.physical), ("fixed_webfon", current.fixed_webfon)]
            query += [("pool_size", size) for size in current.pool_sizes]
            return HttpResponseRedirect(f"{reverse('license_calculator')}?{urlencode(query)}")
        submitted = bool(request.GET)
        form = LicenseCalculatorForm(request.GET if submitted else None)
        estimate = None
        if submitted and form.is_valid():
            data = form.cleaned_data
            estimate = license_estimate(
                physical=data["physical"],
                fixed_webfon=data["fixed_webfon"],
                pool_sizes=data["pool_sizes"],
            )
        context = self.get_context_data(
            form=form, estimate=estimate, share_url=request.build_absolute_uri()
        )
        return self.render_to_response(context, status=400 if submitted and form.errors else 200)
