"""General > Importar / exportar: upload a file, see its preview, apply it; exports of the
users, extensions and pools lists with their current filters."""

import base64

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import FormView, TemplateView, View

from bulk.api.views import read_upload
from bulk.files import CONTENT_TYPES, read_table
from bulk.forms import ImportUploadForm
from bulk.kinds import SPECS
from bulk.models import Import
from bulk.selectors import export_file, export_queryset
from bulk.tasks import import_apply_request, import_upload
from core.actors import Actor
from core.ui import RoleRequiredMixin, apply_service_errors, model_perm
from extensions.views import ExtensionListView, PoolListView
from users.views import PortalUserListView

PREVIEW_ROWS = 200
ACTION_LABELS = {
    "new": gettext_lazy("nueva"),
    "updated": gettext_lazy("actualizada"),
    "unchanged": gettext_lazy("sin cambios"),
    "invalid": gettext_lazy("con errores"),
}
LIST_VIEWS = {"users": PortalUserListView, "extensions": ExtensionListView, "pools": PoolListView}


def page_actor(request) -> Actor:
    return Actor.for_user(request.user, client_ip=request.META.get("REMOTE_ADDR"))


class ImportPageView(RoleRequiredMixin, FormView):
    """Upload form, the semantics, export buttons and the latest imports."""

    template_name = "bulk/import_page.html"
    form_class = ImportUploadForm

    def get_permission_required(self):
        return [model_perm(Import, "view")]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context.update(
            can_import=user.has_perm("bulk.add_import"),
            recent=Import.objects.order_by("-created_at", "-id")[:20],
            exports=[
                (kind, label)
                for kind, label in Import.Kind.choices
                if user.has_perm(model_perm(SPECS[kind].export_queryset().model, "view"))
            ],
        )
        return context

    def post(self, request, *args, **kwargs):
        if not request.user.has_perm("bulk.add_import"):
            raise PermissionDenied
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        upload = form.cleaned_data["file"]
        try:
            row = import_upload(
                actor=page_actor(self.request),
                kind=form.cleaned_data["kind"],
                content=read_upload(upload),
                file_name=upload.name,
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                exc = ValidationError({"file": [m for ms in exc.message_dict.values() for m in ms]})
            else:
                exc = ValidationError({"file": exc.messages})
            apply_service_errors(form, exc)
            return self.form_invalid(form)
        return HttpResponseRedirect(reverse("import_detail", args=[row.pk]))


class ImportDetailView(RoleRequiredMixin, TemplateView):
    """The preview: totals, every error (row, column, message), the rows with the cells in
    error highlighted, and *Importar* when there is nothing to fix."""

    template_name = "bulk/import_detail.html"

    def get_permission_required(self):
        return [model_perm(Import, "view")]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        row = get_object_or_404(Import, pk=kwargs["pk"])
        errors_at: dict[int, set[str]] = {}
        for error in row.errors:
            if error["row"] is not None:
                errors_at.setdefault(error["row"], set()).add(error["column"])
        preview = None
        if row.content and not row.is_active:
            spec = SPECS[row.kind]
            table = read_table(base64.b64decode(row.content), allowed=spec.columns)
            # Rows with errors first, then the others, up to PREVIEW_ROWS.
            ordered = sorted(
                enumerate(table.rows), key=lambda item: (item[1][0] not in errors_at, item[0])
            )[:PREVIEW_ROWS]
            preview = {
                "columns": [c for c in table.columns],
                "rows": [
                    {
                        "number": number,
                        "action": row.plan[index] if index < len(row.plan) else "",
                        "action_label": ACTION_LABELS.get(
                            row.plan[index] if index < len(row.plan) else "", ""
                        ),
                        "cells": [
                            (
                                "********"
                                if column in spec.secret_columns and cells[column]
                                else cells[column],
                                column in errors_at.get(number, ()),
                            )
                            for column in table.columns
                        ],
                    }
                    for index, (number, cells) in sorted(ordered, key=lambda item: item[1][0])
                ],
                "shown": len(ordered),
                "total": len(table.rows),
            }
        context.update(
            object=row,
            preview=preview,
            can_apply=(
                self.request.user.has_perm("bulk.add_import")
                and row.status == Import.Status.PREVIEWED
                and not row.errors
            ),
        )
        return context


class ImportProgressView(RoleRequiredMixin, TemplateView):
    """The live part of a queued or running import (state and bar), which the import's page
    fetches again every second; once the job has finished, htmx reloads the whole page (the
    preview table or the result)."""

    template_name = "bulk/_import_progress.html"

    def get_permission_required(self):
        return [model_perm(Import, "view")]

    def get(self, request, *args, **kwargs):
        row = get_object_or_404(Import, pk=kwargs["pk"])
        if not row.is_active and request.headers.get("HX-Request"):
            return HttpResponse(status=204, headers={"HX-Refresh": "true"})
        return self.render_to_response({"object": row})


class ImportApplyView(RoleRequiredMixin, View):
    permission_required = "bulk.add_import"

    def post(self, request, pk):
        row = get_object_or_404(Import, pk=pk)
        try:
            row = import_apply_request(actor=page_actor(request), import_=row)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            if row.is_active:
                messages.info(
                    request,
                    _("Importación en curso: esta página muestra su avance y luego su resultado."),
                )
            elif row.status == Import.Status.APPLIED:
                totals = row.totals
                messages.success(
                    request,
                    _(
                        "Importación aplicada: %(new)d nuevas, %(updated)d actualizadas, "
                        "%(unchanged)d sin cambios."
                    )
                    % totals,
                )
            else:
                messages.error(request, _("Importación rechazada: no se ha escrito nada."))
        return HttpResponseRedirect(reverse("import_detail", args=[pk]))


class ExportView(RoleRequiredMixin, View):
    """The list page's rows (its filters and ordering) as a file."""

    def get_permission_required(self):
        kind = self.kwargs["kind"]
        if kind not in SPECS:
            raise Http404
        return [model_perm(SPECS[kind].export_queryset().model, "view")]

    def get(self, request, kind):
        fmt = request.GET.get("format", "csv")
        if fmt not in CONTENT_TYPES:
            raise Http404
        list_view = LIST_VIEWS[kind]
        query = request.GET.copy()
        query.pop("format", None)
        query.pop("page", None)
        filterset = list_view.filterset_class(query or None, queryset=export_queryset(kind))
        queryset = (
            filterset.qs if filterset.is_bound and filterset.is_valid() else export_queryset(kind)
        )
        ordering = query.get("ordering", "")
        if ordering.lstrip("-") in list_view.ordering_fields:
            queryset = queryset.order_by(ordering, "pk")
        elif list_view.default_ordering:
            queryset = queryset.order_by(*list_view.default_ordering)
        data = export_file(kind=kind, queryset=queryset, format=fmt)
        response = HttpResponse(data, content_type=CONTENT_TYPES[fmt])
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="{kind}-{stamp}.{fmt}"'
        return response
