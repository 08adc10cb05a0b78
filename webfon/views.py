"""General > Sesiones webfon and Política de acceso webfon."""

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
from webfon import services
from webfon.filtersets import WebfonSessionPageFilterSet
from webfon.forms import WebfonPolicyForm
from webfon.models import WebfonSession
from webfon.selectors import webfon_policy_get, webfon_sessions_live

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
