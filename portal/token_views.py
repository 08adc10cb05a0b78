"""API tokens in the browser: administrators create (the key is shown once) and revoke them."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView, View

from accounts.client import request_actor
from accounts.sudo import SudoRequiredMixin
from core.models import ApiToken
from core.ui import (
    BootstrapFormMixin,
    ConfirmActionMixin,
    RoleRequiredMixin,
    apply_service_errors,
)
from portal.services import api_token_create, api_token_revoke


class ApiTokenForm(BootstrapFormMixin, forms.Form):
    user = forms.ModelChoiceField(
        label=gettext_lazy("Cuenta"),
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        help_text=gettext_lazy("El token actúa con el rol de esta cuenta."),
    )
    name = forms.CharField(
        label=gettext_lazy("Para qué es"),
        max_length=100,
        required=False,
        help_text=gettext_lazy("Por ejemplo «CRM» o «aprovisionamiento»."),
    )
    days = forms.IntegerField(
        label=gettext_lazy("Validez (días)"),
        required=False,
        help_text=gettext_lazy("Pasado este tiempo el token deja de funcionar."),
    )
    read_only = forms.BooleanField(
        label=gettext_lazy("Solo lectura (consultas, ningún cambio)"), required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["days"].initial = settings.API_TOKEN_DAYS


class ApiTokenListView(SudoRequiredMixin, RoleRequiredMixin, TemplateView):
    """Tokens of the REST API: prefix, owner, use, state; create (after a fresh
    re-authentication) and revoke."""

    template_name = "portal/apitoken_list.html"
    permission_required = "portal.view_apitoken"
    sudo_permission = "portal.add_apitoken"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["tokens"] = ApiToken.objects.select_related("user").order_by("-created_at", "-id")[
            :200
        ]
        context["can_add"] = self.request.user.has_perm("portal.add_apitoken")
        context["can_revoke"] = self.request.user.has_perm("portal.change_apitoken")
        context.setdefault("form", ApiTokenForm())
        return context

    def post(self, request, *args, **kwargs):
        if not request.user.has_perm("portal.add_apitoken"):
            raise PermissionDenied
        form = ApiTokenForm(request.POST)
        if form.is_valid():
            try:
                token, key = api_token_create(
                    actor=request_actor(request),
                    user=form.cleaned_data["user"],
                    name=form.cleaned_data["name"],
                    days=form.cleaned_data["days"],
                    read_only=form.cleaned_data["read_only"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                response = self.render_to_response(
                    self.get_context_data(new_key=key, new_token=token)
                )
                response["Cache-Control"] = "no-store"  # the key is shown only in this response
                return response
        return self.render_to_response(self.get_context_data(form=form), status=400)


class ApiTokenRevokeView(ConfirmActionMixin, RoleRequiredMixin, View):
    """Revoke one token: the GET asks, the POST revokes."""

    permission_required = "portal.change_apitoken"

    def get_confirm_object(self):
        return get_object_or_404(ApiToken, pk=self.kwargs["pk"])

    def confirm_context(self, obj):
        return {
            "confirm_title": _("Revocar token"),
            "confirm_question": _(
                "¿Revocar el token %(prefix)s… de %(user)s (%(name)s)? Lo que lo use dejará "
                "de tener acceso al momento; no se puede deshacer."
            )
            % {"prefix": obj.prefix, "user": obj.user, "name": obj.name or "—"},
            "confirm_button": _("Revocar"),
            "cancel_url": reverse("apitoken_list"),
        }

    def post(self, request, pk: int):
        token = get_object_or_404(ApiToken, pk=pk)
        api_token_revoke(actor=request_actor(request), token=token)
        messages.success(request, _("Token %(prefix)s… revocado.") % {"prefix": token.prefix})
        return HttpResponseRedirect(reverse("apitoken_list"))
