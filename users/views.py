"""Pages of "General > Usuarios > Administrar usuarios" (manual §7.6).

Every write calls users.services; a refusal is shown next to the field it names.
Not here yet: the "conectado" filter and the "Extensión movilidad" column need the webfon
login sessions, which do not exist yet.
"""

from urllib.parse import parse_qs, urlparse

import django_filters
import segno
from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from extensions.models import ExtensionPool
from portal.actors import Actor
from portal.ui import ObjectDeleteView, ObjectEditView, ObjectListView, apply_service_errors
from users import services
from users.filtersets import PortalUserFilterSet, filter_connected
from users.forms import (
    PortalUserCreateForm,
    PortalUserForm,
    PortalUserPasswordForm,
    TotpCodeForm,
    mark_invalid,
)
from users.models import PortalUser
from webfon.selectors import mobility_extension_subquery

# --- list ---------------------------------------------------------------------------------


class PortalUserPageFilterSet(PortalUserFilterSet):
    """The filters of the list page: one search box and the choices an administrator uses."""

    q = django_filters.CharFilter(
        method="search",
        label=gettext_lazy("Buscar"),
        widget=forms.TextInput(
            attrs={"placeholder": gettext_lazy("Cuenta, nombre, login, correo"), "size": 26}
        ),
    )
    validation = django_filters.ChoiceFilter(
        choices=PortalUser.Validation.choices,
        label=gettext_lazy("Validación"),
        empty_label=gettext_lazy("Todas"),
    )
    second_factor = django_filters.ChoiceFilter(
        choices=PortalUser.SecondFactor.choices,
        label=gettext_lazy("Doble factor"),
        empty_label=gettext_lazy("Todos"),
    )
    access = django_filters.ChoiceFilter(
        method="filter_access",
        choices=[
            ("fixed", gettext_lazy("Fija")),
            ("pool", gettext_lazy("De un pool")),
            ("none", gettext_lazy("Ninguna")),
        ],
        label=gettext_lazy("Extensión webfon"),
        empty_label=gettext_lazy("Todas"),
    )
    pool = django_filters.ModelChoiceFilter(
        queryset=ExtensionPool.objects.only("pk", "name"),
        label=gettext_lazy("Pool de extensiones webfon"),
        empty_label=gettext_lazy("Todos"),
    )
    connected = django_filters.ChoiceFilter(
        method="filter_connected_choice",
        choices=[("yes", gettext_lazy("Sí")), ("no", gettext_lazy("No"))],
        label=gettext_lazy("Conectado"),
        empty_label=gettext_lazy("Todos"),
    )
    # The shared filter set's yes/no filter is replaced by "access" on this page.
    has_fixed_extension = None

    class Meta(PortalUserFilterSet.Meta):
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # "Conectado" is declared by the shared filter set, so it would come first; the
        # search box leads, as on every list page.
        self.filters.move_to_end("connected")
        for field in self.form.fields.values():
            if isinstance(field.widget, forms.Select):
                field.widget.attrs["class"] = "form-select form-select-sm"
            else:
                field.widget.attrs["class"] = "form-control form-control-sm"

    def search(self, queryset, name, value):
        """Every word must appear in the account, name, login number or e-mail."""
        for word in value.split():
            queryset = queryset.filter(
                Q(account__icontains=word)
                | Q(name__icontains=word)
                | Q(login_number__icontains=word)
                | Q(email__icontains=word)
            )
        return queryset

    def filter_connected_choice(self, queryset, name, value):
        return filter_connected(queryset, name, {"yes": True, "no": False}.get(value))

    def filter_access(self, queryset, name, value):
        if value == "fixed":
            return queryset.filter(webfon_extension__isnull=False)
        if value == "pool":
            return queryset.filter(pool__isnull=False)
        if value == "none":
            return queryset.filter(webfon_extension__isnull=True, pool__isnull=True)
        return queryset


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


class PortalUserPasswordView(PortalUserActionView):
    """Set or reset the portal (Vivait-Suite) password; it is never shown again."""

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
        form = PortalUserPasswordForm(request.POST)
        if form.is_valid():
            try:
                services.portal_user_set_password(
                    actor=Actor.for_user(request.user),
                    user=self.object,
                    password=form.cleaned_data["password"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("Contraseña de «%(account)s» cambiada.") % {"account": self.object.account},
                )
                return HttpResponseRedirect(self.edit_url())
        return self.render_page(status=400, password_form=form)


def totp_qr_svg(uri: str) -> str:
    """The provisioning URI as an inline SVG QR code (segno builds the markup itself)."""
    svg = segno.make(uri, error="m").svg_inline(
        scale=4, dark="#000", light="#fff", title=_("Código QR para la app de autenticación")
    )
    return mark_safe(svg)  # noqa: S308 - markup generated by segno, not user input


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


class PortalUserTotpConfirmView(PortalUserActionView):
    """Put the pending TOTP secret in force with one code of the app."""

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
        form = TotpCodeForm(request.POST)
        if form.is_valid():
            try:
                services.portal_user_totp_confirm(
                    actor=Actor.for_user(request.user),
                    user=self.object,
                    code=form.cleaned_data["code"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("TOTP activo para «%(account)s»: ya se puede elegir el doble factor «TOTP».")
                    % {"account": self.object.account},
                )
                return HttpResponseRedirect(self.edit_url())
        return self.render_page(status=400, totp_form=form)


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
