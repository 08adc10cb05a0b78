"""General > Configurar LDAP: the settings form and "Probar conexión"."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from accounts.sudo import SudoRequiredMixin
from core.actors import Actor
from core.ui import RoleRequiredMixin, apply_service_errors
from users.ldap import ldap_find_user
from users.ldap_forms import LdapSettingsForm
from users.selectors import ldap_settings_get, ldap_settings_preview
from users.services import ldap_settings_update


class LdapSettingsView(SudoRequiredMixin, RoleRequiredMixin, TemplateView):
    """Edit the LDAP settings (the bind account and password among them: whoever may change
    them re-authenticates first), or try them against the server without saving."""

    sudo_permission = "users.change_ldapsettings"
    sudo_methods = ("GET", "POST")

    template_name = "users/ldapsettings_form.html"
    permission_required = "users.view_ldapsettings"

    def get(self, request, *args, **kwargs):
        return self.render_to_response(
            self.get_context_data(form=LdapSettingsForm(instance=ldap_settings_get()))
        )

    def post(self, request, *args, **kwargs):
        if not request.user.has_perm("users.change_ldapsettings"):
            raise PermissionDenied
        form = LdapSettingsForm(request.POST, instance=ldap_settings_get())
        lookup = None
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if k != "test_account"}
            try:
                if "test" in request.POST:
                    account = form.cleaned_data["test_account"]
                    if not account:
                        raise ValidationError(
                            {"test_account": _("Escriba la cuenta que quiere buscar.")}
                        )
                    lookup = ldap_find_user(settings=ldap_settings_preview(**data), account=account)
                else:
                    saved = ldap_settings_update(actor=Actor.for_user(request.user), **data)
                    for warning in saved.secret_warnings().values():
                        messages.warning(request, warning)
                    messages.success(
                        request,
                        _(
                            "Configuración LDAP guardada. serCen se reiniciará en el nodo WebRTC al aplicar la configuración."
                        ),
                    )
                    return HttpResponseRedirect(reverse("ldapsettings_update"))
            except ValidationError as exc:
                apply_service_errors(form, exc)
        status = 200 if lookup is not None or not form.errors else 400
        return self.render_to_response(
            self.get_context_data(form=form, lookup=lookup), status=status
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_save"] = self.request.user.has_perm("users.change_ldapsettings")
        context["bind_password_set"] = bool(ldap_settings_get().bind_password)
        return context
