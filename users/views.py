"""Pages of "General > Usuarios > Administrar usuarios" (manual §7.6).

Every write calls users.services; a refusal is shown next to the field it names.
Not here yet: the "conectado" filter and the "Extensión movilidad" column need the webfon
login sessions, which do not exist yet.
"""

from urllib.parse import parse_qs, urlparse

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy

from core.actors import Actor
from core.totp import totp_qr_svg
from core.ui import ObjectDeleteView, ObjectEditView, ObjectListView, apply_service_errors
from users import services
from users.filtersets import PortalUserPageFilterSet
from users.forms import (
    PortalUserCreateForm,
    PortalUserForm,
    PortalUserPasswordForm,
    TotpCodeForm,
    mark_invalid,
)
from users.models import PortalUser
from users.selectors import mobility_extension_subquery

# --- list ---------------------------------------------------------------------------------


class PortalUserListView(ObjectListView):
    model = PortalUser
    filterset_class = PortalUserPageFilterSet
    template_name = "users/portaluser_list.html"
    columns = [
        "account",
        "name",
        "login_number",
        "email",
        "validation",
        "second_factor",
        ("webfon", gettext_lazy("Extensión webfon fija / pool")),
        ("mobility_extension", gettext_lazy("Extensión movilidad")),
    ]
    ordering_fields = ["account", "name", "login_number", "email", "validation", "second_factor"]
    default_ordering = ["account"]
    create_url_name = "portaluser_create"
    edit_url_name = "portaluser_update"
    delete_url_name = "portaluser_delete"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # Computed once per page rather than once per row.
        context.update(
            row_url_prefix=reverse("portaluser_list"),
            validation_labels={value: str(label) for value, label in PortalUser.Validation.choices},
            second_factor_labels={
                value: str(label) for value, label in PortalUser.SecondFactor.choices
            },
        )
        return context

    def base_queryset(self):
        # One query for the page whatever its rows; secrets (password hash, TOTP seeds) are
        # never loaded.
        return (
            PortalUser.objects.select_related("webfon_extension", "pool")
            .only(
                "account",
                "name",
                "login_number",
                "email",
                "validation",
                "second_factor",
                "totp_confirmed_at",
                "webfon_extension__number",
                "pool__name",
            )
            .annotate(mobility_extension=mobility_extension_subquery())
        )


# --- create, edit, password, TOTP ---------------------------------------------------------


class PortalUserEditView(ObjectEditView):
    model = PortalUser
    form_class = PortalUserForm
    template_name = "users/portaluser_form.html"
    create_service = services.portal_user_create
    update_service = services.portal_user_update
    service_instance_kwarg = "user"
    success_url_name = "portaluser_list"

    def get_form(self, data=None):
        form_class = PortalUserForm if self.object is not None else PortalUserCreateForm
        return form_class(data, **self.get_form_kwargs())

    def get_success_url(self, saved) -> str:
        if self.object is None:
            # A new user's page, where their password and TOTP are set.
            return reverse("portaluser_update", args=[saved.pk])
        return super().get_success_url(saved)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.object
        can_change = self.request.user.has_perm("users.change_portaluser")
        context["tabs"] = context["form"].tabs()
        if user is not None:
            context.update(
                totp_active=user.totp_confirmed_at is not None,
                totp_pending=bool(user.totp_pending_secret),
                can_manage_secrets=can_change,
                # A seed that no longer decrypts (the key changed): the user cannot pass the
                # TOTP step until enrolled again, which the page must say.
                totp_warnings=[
                    message
                    for name, message in user.secret_warnings().items()
                    if name in ("totp_secret", "totp_pending_secret")
                ],
            )
            if can_change:
                context.setdefault("password_form", PortalUserPasswordForm())
                context.setdefault("totp_form", TotpCodeForm())
        for name in ("form", "password_form", "totp_form"):
            if name in context:
                mark_invalid(context[name])
        return context

    def edit_url(self) -> str:
        return reverse("portaluser_update", args=[self.object.pk])

    def render_page(self, status: int = 200, **context):
        """The user's page with the given forms (bound, with their errors) in place."""
        return self.render_to_response(
            self.get_context_data(form=self.get_form(), **context), status=status
        )


class PortalUserActionView(PortalUserEditView):
    """A POST-only action of the user's page; answers the page itself when refused."""

    def get_permission_required(self):
        return ["users.change_portaluser"]

    def get(self, request, *args, **kwargs):
        return HttpResponseRedirect(reverse("portaluser_update", args=[kwargs["pk"]]))


class PortalUserFormActionView(PortalUserActionView):
    """An action that posts one small form to one service: on success a message and back to
    the user's page; refused, the page again with the form's errors (status 400)."""

    form_class: type
    form_key: str  # the form's name in the page's context
    field: str  # the form's field the service takes
    success_message: str

    def call_service(self, *, actor: Actor, user: PortalUser, value) -> None:
        raise NotImplementedError

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
        form = self.form_class(request.POST)
        if form.is_valid():
            try:
                self.call_service(
                    actor=Actor.for_user(request.user),
                    user=self.object,
                    value=form.cleaned_data[self.field],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, self.success_message % {"account": self.object.account})
                return HttpResponseRedirect(self.edit_url())
        return self.render_page(status=400, **{self.form_key: form})


class PortalUserPasswordView(PortalUserFormActionView):
    """Set or reset the portal (Vivait-Suite) password; it is never shown again."""

    form_class = PortalUserPasswordForm
    form_key = "password_form"
    field = "password"
    success_message = gettext_lazy("Contraseña de «%(account)s» cambiada.")

    def call_service(self, *, actor: Actor, user: PortalUser, value) -> None:
        services.portal_user_set_password(actor=actor, user=user, password=value)


class PortalUserTotpBeginView(PortalUserActionView):
    """Start a TOTP enrolment and show its QR code and secret, this once only."""

    def post(self, request, *args, **kwargs):
        user = self.get_object()
        uri = services.portal_user_totp_begin(actor=Actor.for_user(request.user), user=user)
        self.object = self.get_object()
        secret = parse_qs(urlparse(uri).query)["secret"][0]
        code_form = TotpCodeForm()
        code_form.fields["code"].widget.attrs["autofocus"] = True
        response = self.render_page(
            totp_form=code_form,
            totp_enrolment={
                "qr_svg": totp_qr_svg(uri),
                "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)],
            },
        )
        add_never_cache_headers(response)
        return response


class PortalUserTotpConfirmView(PortalUserFormActionView):
    """Put the pending TOTP secret in force with one code of the app."""

    form_class = TotpCodeForm
    form_key = "totp_form"
    field = "code"
    success_message = gettext_lazy(
        "TOTP activo para «%(account)s»: ya se puede elegir el doble factor «TOTP»."
    )

    def call_service(self, *, actor: Actor, user: PortalUser, value) -> None:
        services.portal_user_totp_confirm(actor=actor, user=user, code=value)


# --- delete -------------------------------------------------------------------------------


class PortalUserDeleteView(ObjectDeleteView):
    model = PortalUser
    delete_service = services.portal_user_delete
    service_instance_kwarg = "user"
    success_url_name = "portaluser_list"
    template_name = "users/portaluser_confirm_delete.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = context["object"]
        context["owned_numbers"] = list(user.owned_extensions.values_list("number", flat=True))
        return context
