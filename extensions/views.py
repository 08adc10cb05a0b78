"""Pages "Vivait Call > Dispositivos > Extensiones", "Pool de extensiones" and "General > Plantillas".

Every write calls extensions.services; a refusal is shown next to the field it concerns and
nothing is saved. Roles: administrador does everything, operador reads (POST → 403),
ventas gets 403, anonymous users go to the login page.
"""

from typing import Any

from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView, View

from accounts.sudo import SudoRequiredMixin
from core.actors import Actor
from core.secrets import unreadable_warning
from core.ui import (
    ObjectDeleteView,
    ObjectEditView,
    ObjectListView,
    RoleRequiredMixin,
    apply_service_errors,
    model_perm,
)
from extensions import services
from extensions.filtersets import ExtensionPageFilterSet, PoolPageFilterSet, TemplatePageFilterSet
from extensions.forms import (
    ExtensionForm,
    PoolForm,
    PoolRangeForm,
    TemplateDuplicateForm,
    TemplateForm,
)
from extensions.models import Extension, ExtensionPool, Template
from extensions.selectors import free_webfon_extensions_q
from licensing.selectors import license_usage

PICKER_LIMIT = 20
MEMBERS_PER_PAGE = 50
RANGE_PREVIEW_SHOWN = 100


def remap_errors(exc: ValidationError, mapping: dict[str, str]) -> ValidationError:
    """The same refusal, with the field names a service uses renamed to the form's.

    Map a name to NON_FIELD_ERRORS to show it on top of the form it concerns.
    """
    if not hasattr(exc, "error_dict"):
        return exc
    errors: dict[str, list[str]] = {}
    for field, field_messages in exc.message_dict.items():
        errors.setdefault(mapping.get(field, field), []).extend(field_messages)
    return ValidationError(errors)


# --- extensions ---------------------------------------------------------------------------


class ExtensionListView(ObjectListView):
    model = Extension
    filterset_class = ExtensionPageFilterSet
    template_name = "extensions/extension_list.html"
    columns = [
        "number",
        "kind",
        "node",
        "template",
        "site",
        "department",
        "owner",
        ("pool", gettext_lazy("Pool de extensiones")),
    ]
    ordering_fields = ["number", "kind", "node", "template", "site", "department", "owner", "pool"]
    default_ordering = ["number"]
    create_url_name = "extension_create"
    edit_url_name = "extension_update"
    delete_url_name = "extension_delete"

    def paginate_queryset(self, queryset, page_size):
        """The page in two queries, whatever the number of rows.

        First the page's ids (ORDER BY number LIMIT 50 reads the number index), then those
        rows with every column joined. Joining in the first query makes MariaDB start from
        the nodes table and sort every extension before taking 50 (20,000 rows: ~0.2 s).
        The registration secret is never read for the list.
        """
        paginator, page, ids, is_paginated = super().paginate_queryset(
            queryset.values_list("pk", flat=True), page_size
        )
        ids = list(ids)
        rows = (
            Extension.objects.select_related("node", "template", "owner", "pool")
            .defer("registration_secret")
            .in_bulk(ids)
        )
        page.object_list = [rows[pk] for pk in ids if pk in rows]
        return paginator, page, page.object_list, is_paginated


class ExtensionEditView(ObjectEditView):
    model = Extension
    form_class = ExtensionForm
    template_name = "extensions/extension_form.html"
    create_service = services.extension_create
    update_service = services.extension_update
    service_instance_kwarg = "extension"
    success_url_name = "extension_list"

    def get_object(self):
        if "pk" not in self.kwargs:
            return None
        return get_object_or_404(
            Extension.objects.select_related("owner", "node", "template", "pool"),
            pk=self.kwargs["pk"],
        )

    def service_data(self, form) -> dict[str, Any]:
        data = super().service_data(form)
        if data.get("kind") == Extension.Kind.WEBFON and data.get("template") is None:
            # An empty "Plantilla" on a webfon extension means the system webfon template.
            data["template"] = services.system_template()
        return data

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_reveal"] = self.object is not None and self.request.user.has_perm(
            model_perm(Extension, "change")
        )
        return context


class ExtensionDeleteView(ObjectDeleteView):
    model = Extension
    delete_service = services.extension_delete
    service_instance_kwarg = "extension"
    success_url_name = "extension_list"


class ExtensionSecretView(SudoRequiredMixin, RoleRequiredMixin, View):
    """Reveal the registration secret (POST, administrators, with a fresh
    re-authentication); every reveal is audited."""

    http_method_names = ["post"]
    sudo_permission = "extensions.change_extension"

    def sudo_next_url(self) -> str:
        return reverse("extension_update", args=[self.kwargs["pk"]])

    def get_permission_required(self):
        return [model_perm(Extension, "change")]

    def post(self, request, *args, **kwargs):
        extension = get_object_or_404(Extension, pk=kwargs["pk"])
        secret = services.extension_reveal_secret(
            actor=Actor.for_user(request.user), extension=extension
        )
        partial = request.headers.get("HX-Request") == "true"
        response = render(
            request,
            "extensions/_extension_secret.html" if partial else "extensions/extension_secret.html",
            {"object": extension, "secret": secret, "warning": unreadable_warning(secret)},
        )
        add_never_cache_headers(response)
        return response


# --- pools --------------------------------------------------------------------------------


class PoolListView(ObjectListView):
    model = ExtensionPool
    filterset_class = PoolPageFilterSet
    template_name = "extensions/pool_list.html"
    columns = [
        "name",
        ("base_extension", gettext_lazy("Extensión base")),
        ("member_count", gettext_lazy("Miembros")),
    ]
    ordering_fields = ["name", "base_extension", "member_count"]
    default_ordering = ["name"]
    create_url_name = "extensionpool_create"
    edit_url_name = "extensionpool_update"
    delete_url_name = "extensionpool_delete"

    def base_queryset(self):
        return (
            ExtensionPool.objects.select_related("base_extension")
            .defer("base_extension__registration_secret")
            .annotate(member_count=Count("members"))
        )


def pool_candidates(query: str = "") -> list[Extension]:
    """Webfon extensions that may join a pool: in no pool and no user's fixed extension."""
    queryset = Extension.objects.filter(free_webfon_extensions_q())
    query = query.strip()
    if query:
        queryset = queryset.filter(number__contains=query)
    return list(
        queryset.order_by("number").only("pk", "number", "site", "department")[:PICKER_LIMIT]
    )


class PoolEditView(ObjectEditView):
    """A pool's form; on an existing pool also its members, the picker and the range form."""

    model = ExtensionPool
    form_class = PoolForm
    template_name = "extensions/pool_form.html"
    create_service = services.pool_create
    update_service = services.pool_update
    service_instance_kwarg = "pool"
    success_url_name = "extensionpool_list"

    def get_object(self):
        if "pk" not in self.kwargs:
            return None
        return get_object_or_404(
            ExtensionPool.objects.select_related("base_extension").defer(
                "base_extension__registration_secret"
            ),
            pk=self.kwargs["pk"],
        )

    def save(self, form):
        try:
            return super().save(form)
        except ValidationError as exc:
            # pool_add_members names its refusals "pool"; on this form they concern "members".
            raise remap_errors(exc, {"pool": "members"}) from exc

    def get_success_url(self, saved) -> str:
        if self.object is None:
            return reverse("extensionpool_update", args=[saved.pk])
        return super().get_success_url(saved)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        pool = self.object
        context["can_change_members"] = self.request.user.has_perm(
            model_perm(ExtensionPool, "change")
        )
        if pool is not None:
            members = pool.members.order_by("number").only("pk", "number", "site", "department")
            page = Paginator(members, MEMBERS_PER_PAGE).get_page(self.request.GET.get("mpage"))
            query = self.request.GET.get("q", "")
            context.update(
                members_page=page,
                member_query=query,
                candidates=pool_candidates(query),
                picker_limit=PICKER_LIMIT,
                range_form=kwargs.get("range_form") or PoolRangeForm(),
                member_errors=kwargs.get("member_errors", []),
            )
        return context

    def render_member_error(self, exc: ValidationError):
        """The pool's page again, status 400, with the refusal in the members card."""
        self.object = self.get_object()
        context = self.get_context_data(form=self.get_form(), member_errors=exc.messages)
        return self.render_to_response(context, status=400)


class PoolMemberAddView(PoolEditView):
    """Add one extension chosen in the picker to an existing pool (pool_add_members)."""

    http_method_names = ["post"]

    def get_permission_required(self):
        return [model_perm(ExtensionPool, "change")]

    def post(self, request, *args, **kwargs):
        pool = get_object_or_404(ExtensionPool, pk=kwargs["pk"])
        chosen = request.POST.get("extension", "")
        extension = Extension.objects.filter(pk=chosen).first() if chosen.isdigit() else None
        if extension is None:
            return self.render_member_error(
                ValidationError(_("Elija una extensión de la lista para añadirla al pool."))
            )
        try:
            services.pool_add_members(
                actor=Actor.for_user(request.user), pool=pool, extensions=[extension]
            )
        except ValidationError as exc:
            return self.render_member_error(exc)
        messages.success(
            request,
            _("Extensión %(number)s añadida al pool «%(pool)s».")
            % {"number": extension.number, "pool": pool.name},
        )
        return HttpResponseRedirect(reverse("extensionpool_update", args=[pool.pk]))


class PoolMemberRemoveView(PoolEditView):
    """Take one member out of a pool (pool_remove_member); it stays a webfon extension."""

    http_method_names = ["post"]

    def get_permission_required(self):
        return [model_perm(ExtensionPool, "change")]

    def post(self, request, *args, **kwargs):
        pool = get_object_or_404(ExtensionPool, pk=kwargs["pk"])
        extension = get_object_or_404(Extension, pk=kwargs["extension_pk"])
        try:
            services.pool_remove_member(
                actor=Actor.for_user(request.user), pool=pool, extension=extension
            )
        except ValidationError as exc:
            return self.render_member_error(exc)
        messages.success(
            request,
            _("Extensión %(number)s quitada del pool «%(pool)s».")
            % {"number": extension.number, "pool": pool.name},
        )
        return HttpResponseRedirect(reverse("extensionpool_update", args=[pool.pk]))


class PoolCandidatesView(RoleRequiredMixin, TemplateView):
    """The picker's results (htmx): at most 20 webfon extensions in no pool matching ``q``.

    mode=stage (a new pool): "Añadir" only adds to the form; mode=add&pool=<pk>: "Añadir"
    posts to extensionpool_member_add.
    """

    template_name = "extensions/_pool_candidates.html"

    def get_permission_required(self):
        return [model_perm(Extension, "view"), model_perm(ExtensionPool, "view")]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        pool_pk = self.request.GET.get("pool", "")
        pool = (
            get_object_or_404(ExtensionPool, pk=pool_pk)
            if pool_pk.isdigit() and self.request.GET.get("mode") == "add"
            else None
        )
        context.update(
            candidates=pool_candidates(self.request.GET.get("q", "")),
            picker_limit=PICKER_LIMIT,
            object=pool,
            can_change_members=self.request.user.has_perm(model_perm(ExtensionPool, "change")),
        )
        return context


class PoolRangeView(RoleRequiredMixin, TemplateView):
    """ "Rango de extensiones": GET previews (saves nothing), POST creates (pool_create_range)."""

    template_name = "extensions/pool_range.html"

    def get_permission_required(self):
        if self.request.method == "POST":
            return [model_perm(Extension, "add"), model_perm(ExtensionPool, "change")]
        return [model_perm(ExtensionPool, "view")]

    @cached_property
    def pool(self) -> ExtensionPool:
        # Looked up after the role check: an anonymous user learns nothing about pools.
        return get_object_or_404(
            ExtensionPool.objects.select_related(
                "base_extension__node", "base_extension__template"
            ).defer("base_extension__registration_secret"),
            pk=self.kwargs["pk"],
        )

    def preview(self, form: PoolRangeForm) -> dict[str, Any] | None:
        """What the range would create, or None (errors put on ``form``)."""
        if not form.is_valid():
            return None
        first, last = form.cleaned_data["first"], form.cleaned_data["last"]
        try:
            check = services.pool_range_check(first=first, last=last)
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return None
        numbers, existing, logins = check.numbers, check.existing, check.logins
        usage = license_usage()
        needed = len(numbers)
        kinds = dict(Extension.Kind.choices)
        shown = numbers
        if len(numbers) > RANGE_PREVIEW_SHOWN:
            shown = [*numbers[: RANGE_PREVIEW_SHOWN - 10], "…", *numbers[-10:]]
        return {
            "first": numbers[0],
            "last": numbers[-1],
            "count": needed,
            "shown": shown,
            "existing": [(number, kinds.get(kind, kind)) for number, kind in existing],
            "logins": logins,
            "usage": usage,
            "needed": needed,
            "enough_licences": needed <= usage.free,
            "ok": not existing and not logins and needed <= usage.free,
        }

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            pool=self.pool,
            base=self.pool.base_extension,
            can_create_range=self.request.user.has_perm(model_perm(Extension, "add"))
            and self.request.user.has_perm(model_perm(ExtensionPool, "change")),
        )
        return context

    def get(self, request, *args, **kwargs):
        bound = "first" in request.GET or "last" in request.GET
        form = PoolRangeForm(request.GET if bound else None)
        preview = self.preview(form) if bound else None
        status = 400 if bound and preview is None else 200
        return self.render_to_response(
            self.get_context_data(form=form, preview=preview), status=status
        )

    def post(self, request, *args, **kwargs):
        form = PoolRangeForm(request.POST)
        preview = None
        if form.is_valid():
            try:
                created = services.pool_create_range(
                    actor=Actor.for_user(request.user),
                    pool=self.pool,
                    first=form.cleaned_data["first"],
                    last=form.cleaned_data["last"],
                )
            except ValidationError as exc:
                # Numbers taken concern the whole range; licences the whole request.
                apply_service_errors(form, remap_errors(exc, {"number": NON_FIELD_ERRORS}))
                if not form.has_error("first") and not form.has_error("last"):
                    preview = self.preview(PoolRangeForm(request.POST))
            else:
                messages.success(
                    request,
                    _(
                        "Creadas %(count)d extensiones webfon (%(first)s..%(last)s) en el pool "
                        "«%(pool)s»."
                    )
                    % {
                        "count": len(created),
                        "first": created[0].number,
                        "last": created[-1].number,
                        "pool": self.pool.name,
                    },
                )
                return HttpResponseRedirect(reverse("extensionpool_update", args=[self.pool.pk]))
        return self.render_to_response(
            self.get_context_data(form=form, preview=preview), status=400
        )


class PoolDeleteView(ObjectDeleteView):
    model = ExtensionPool
    delete_service = services.pool_delete
    service_instance_kwarg = "pool"
    success_url_name = "extensionpool_list"


# --- templates ----------------------------------------------------------------------------


class TemplateListView(ObjectListView):
    model = Template
    filterset_class = TemplatePageFilterSet
    template_name = "extensions/template_list.html"
    columns = [
        "name",
        ("webfon", gettext_lazy("Webfon")),
        ("is_system", gettext_lazy("De sistema")),
        ("copied_from", gettext_lazy("Copia de")),
    ]
    ordering_fields = ["name", "webfon"]
    default_ordering = ["-is_system", "name"]
    create_url_name = "template_create"
    edit_url_name = "template_update"
    delete_url_name = "template_delete"

    def base_queryset(self):
        return Template.objects.select_related("copied_from")


class TemplateEditView(ObjectEditView):
    """A template's form; the system template is read-only and offers "Duplicar"."""

    model = Template
    form_class = TemplateForm
    template_name = "extensions/template_form.html"
    create_service = services.template_create
    update_service = services.template_update
    service_instance_kwarg = "template"
    success_url_name = "template_list"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if self.object is not None:
            if self.object.is_system:
                context["can_save"] = False
            context["can_duplicate"] = self.request.user.has_perm(model_perm(Template, "add"))
            context["can_delete"] = not self.object.is_system and self.request.user.has_perm(
                model_perm(Template, "delete")
            )
            context["duplicate_form"] = kwargs.get("duplicate_form") or TemplateDuplicateForm(
                initial={"name": _("%(name)s (copia)") % {"name": self.object.name}}
            )
        return context


class TemplateDuplicateView(TemplateEditView):
    """ "Duplicar": copy a template under a new name (template_duplicate)."""

    http_method_names = ["post"]

    def get_permission_required(self):
        return [model_perm(Template, "add")]

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
        duplicate_form = TemplateDuplicateForm(request.POST)
        if duplicate_form.is_valid():
            try:
                copy = services.template_duplicate(
                    actor=Actor.for_user(request.user),
                    template=self.object,
                    name=duplicate_form.cleaned_data["name"],
                )
            except ValidationError as exc:
                apply_service_errors(duplicate_form, exc)
            else:
                messages.success(
                    request,
                    _("Plantilla «%(copy)s» creada como copia de «%(name)s».")
                    % {"copy": copy.name, "name": self.object.name},
                )
                return HttpResponseRedirect(reverse("template_update", args=[copy.pk]))
        context = self.get_context_data(form=self.get_form(), duplicate_form=duplicate_form)
        return self.render_to_response(context, status=400)


class TemplateDeleteView(ObjectDeleteView):
    model = Template
    delete_service = services.template_delete
    service_instance_kwarg = "template"
    success_url_name = "template_list"
