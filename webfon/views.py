"""General > Sesiones webfon and Política de acceso webfon; a pool's occupancy and sizing."""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import TemplateView

from core.actors import Actor
from core.ui import (
    ConfirmActionMixin,
    ObjectListView,
    RoleRequiredMixin,
    apply_service_errors,
)
from extensions.models import ExtensionPool
from licensing.selectors import license_installation_estimate
from webfon import services
from webfon.charts import BarChart, bar_chart
from webfon.filtersets import WebfonSessionPageFilterSet
from webfon.forms import OccupancyQueryForm, WebfonPolicyForm
from webfon.models import WebfonSession
from webfon.selectors import (
    OCCUPANCY_WINDOWS,
    PoolOccupancy,
    pool_occupancy,
    pools_measured_sizes,
    webfon_policy_get,
    webfon_sessions_live,
    webfon_sessions_recently_ended,
)

# Who is connected from where is the administrators' business (as in the API).
SESSIONS_PERMISSION = "webfon.delete_webfonsession"


class WebfonSessionListView(ObjectListView):
    """The webfon sessions in force: user, mobility extension, origin, expiry."""

    model = WebfonSession
    filterset_class = WebfonSessionPageFilterSet
    template_name = "webfon/webfonsession_list.html"
    columns = [
        ("account", gettext_lazy("Usuario")),
        "extension_number",
        "client_ip",
        "application",
        "started_at",
        "expires_at",
    ]
    ordering_fields = ["extension_number", "client_ip", "started_at", "expires_at"]
    default_ordering = ["-started_at", "-id"]

    def get_permission_required(self):
        return [SESSIONS_PERMISSION]

    def base_queryset(self):
        return (
            webfon_sessions_live()
            .select_related("user")
            .only(
                "extension_number",
                "client_ip",
                "application",
                "started_at",
                "expires_at",
                "user__account",
            )
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["ended_sessions"] = webfon_sessions_recently_ended()
        return context


class WebfonSessionEndView(ConfirmActionMixin, RoleRequiredMixin, View):
    """ "Forzar cierre": end one session and give its extension back (the GET asks first)."""

    def get_confirm_object(self):
        return get_object_or_404(WebfonSession.objects.select_related("user"), pk=self.kwargs["pk"])

    def confirm_context(self, obj):
        return {
            "confirm_title": _("Forzar cierre"),
            "confirm_question": _(
                "¿Cerrar ahora la sesión webfon de %(account)s (extensión %(number)s)? "
                "Su navegador quedará desconectado."
            )
            % {"account": obj.user.account, "number": obj.extension_number},
            "confirm_button": _("Forzar cierre"),
            "cancel_url": reverse("webfonsession_list"),
        }

    def get_permission_required(self):
        return [SESSIONS_PERMISSION]

    def post(self, request, pk: int):
        session = get_object_or_404(WebfonSession, pk=pk)
        services.webfon_session_end(actor=Actor.for_user(request.user), session=session)
        messages.success(
            request,
            _("Sesión de %(account)s cerrada; la extensión %(number)s queda libre.")
            % {"account": session.user.account, "number": session.extension_number},
        )
        return HttpResponseRedirect(reverse("webfonsession_list"))


class WebfonPolicyView(RoleRequiredMixin, TemplateView):
    """Edit the webfon access policy (password rules, PIN, tokens, lockout)."""

    template_name = "webfon/webfonpolicy_form.html"
    permission_required = "webfon.view_webfonpolicy"

    def get(self, request, *args, **kwargs):
        form = WebfonPolicyForm(instance=webfon_policy_get())
        return self.render_to_response(self.get_context_data(form=form))

    def post(self, request, *args, **kwargs):
        if not request.user.has_perm("webfon.change_webfonpolicy"):
            raise PermissionDenied
        form = WebfonPolicyForm(request.POST, instance=webfon_policy_get())
        if form.is_valid():
            try:
                services.webfon_policy_update(
                    actor=Actor.for_user(request.user), **form.cleaned_data
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Política de acceso webfon guardada."))
                return HttpResponseRedirect(reverse("webfonpolicy_update"))
        return self.render_to_response(self.get_context_data(form=form), status=400)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_save"] = self.request.user.has_perm("webfon.change_webfonpolicy")
        return context


# --- pool occupancy and sizing (issue #19) --------------------------------------------------
OCCUPANCY_PERMISSION = "extensions.view_extensionpool"


def occupancy_charts(occupancy: PoolOccupancy) -> dict[str, BarChart]:
    days = occupancy.by_day
    label = [day.day.strftime("%d/%m") for day in days]
    return {
        "peak": bar_chart(
            [(lab, day.peak) for lab, day in zip(label, days, strict=True)],
            reference=[day.size for day in days],
        ),
        "full": bar_chart([(lab, day.hours_full) for lab, day in zip(label, days, strict=True)]),
        "refused": bar_chart(
            [(lab, day.refused_pool_full) for lab, day in zip(label, days, strict=True)]
        ),
    }


class PoolOccupancyView(RoleRequiredMixin, TemplateView):
    """A pool's occupancy for 7/30/90 days: peaks, hours full, refusals, recommended size."""

    template_name = "webfon/pool_occupancy.html"
    permission_required = OCCUPANCY_PERMISSION

    def get(self, request, *args, **kwargs):
        pool = get_object_or_404(ExtensionPool, pk=kwargs["pk"])
        form = OccupancyQueryForm(request.GET)
        if not form.is_valid():
            return self.render_to_response(
                self.get_context_data(pool=pool, form=form, windows=OCCUPANCY_WINDOWS), status=400
            )
        occupancy = pool_occupancy(
            pool=pool, days=form.cleaned_data["days"], tolerance=form.cleaned_data["tolerance"]
        )
        return self.render_to_response(
            self.get_context_data(
                pool=pool,
                form=form,
                occupancy=occupancy,
                charts=occupancy_charts(occupancy),
                windows=OCCUPANCY_WINDOWS,
            )
        )


class PoolSizingView(RoleRequiredMixin, TemplateView):
    """*Dimensionar con lo medido*: each pool's size today against the size its measured
    demand needs; with ``abrir``, straight to the licence calculator filled with the physical
    and fixed webfon extensions of today and those measured pool sizes."""

    template_name = "webfon/pool_sizing.html"
    permission_required = ("extensions.view_extensionpool", "licensing.use_calculator")

    def get(self, request, *args, **kwargs):
        form = OccupancyQueryForm(request.GET)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        days, tolerance = form.cleaned_data["days"], form.cleaned_data["tolerance"]
        measured = pools_measured_sizes(days=days, tolerance=tolerance)
        current = license_installation_estimate()
        query = [("physical", current.physical), ("fixed_webfon", current.fixed_webfon)]
        query += [("pool_size", row.recommended_size) for row in measured]
        calculator_url = f"{reverse('license_calculator')}?{urlencode(query)}"
        if "abrir" in request.GET:
            return HttpResponseRedirect(calculator_url)
        return self.render_to_response(
            self.get_context_data(
                form=form,
                days=days,
                tolerance=tolerance,
                measured=measured,
                current=current,
                calculator_url=calculator_url,
                windows=OCCUPANCY_WINDOWS,
            )
        )
