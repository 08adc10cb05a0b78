"""Declarative views of the browser portal (list, edit, delete), NetBox style.

Every write calls a service; a refusal (django ValidationError) is shown next to the field
it names, nothing is saved, and the user's input stays in the form.
"""

from collections.abc import Callable
from typing import Any

import django_filters
from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.generic import ListView, TemplateView

from core.actors import Actor


def model_perm(model: type[Model], action: str) -> str:
    return f"{model._meta.app_label}.{action}_{model._meta.model_name}"


class RoleRequiredMixin(LoginRequiredMixin, PermissionRequiredMixin):
    """Anonymous users go to the login page; a logged-in user without the role gets 403."""

    def handle_no_permission(self):
        if self.request.user.is_authenticated:
            raise PermissionDenied
        return super().handle_no_permission()


def apply_service_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """Put a service's refusal next to the fields it names (or on top of the form)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def show_secret_warnings(form: forms.BaseForm, instance: Model | None) -> dict[str, str]:
    """Flag each stored secret the row cannot use (unreadable, or entered for another
    destination) on its field: the message replaces the help text and the field is outlined
    (see core.secrets). Answers the warnings, field name -> message."""
    if instance is None or instance.pk is None or not hasattr(instance, "secret_warnings"):
        return {}
    warnings = instance.secret_warnings()
    for name, message in warnings.items():
        if name in form.fields:
            field = form.fields[name]
            field.help_text = message
            attrs = field.widget.attrs
            attrs["class"] = f"{attrs.get('class', '')} is-invalid".strip()
    return warnings


class BootstrapFormMixin:
    """Give every widget the Bootstrap 5 class it needs."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select | forms.SelectMultiple):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()

    def add_error(self, field, error) -> None:
        """Every error, from the form or from a service, outlines its field in red and is
        announced by screen readers with the field."""
        super().add_error(field, error)
        for name in self.errors:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                if "is-invalid" not in attrs.get("class", ""):
                    attrs["class"] = f"{attrs.get('class', '')} is-invalid".strip()
                attrs["aria-invalid"] = "true"
                attrs["aria-describedby"] = f"{self[name].auto_id}_error"


class ServiceModelForm(BootstrapFormMixin, forms.ModelForm):
    """A ModelForm that checks types and formats only; the service checks the rest.

    Skipping the model's own validation avoids Django's generic "already exists" messages,
    so the user reads the service's message, which names the value and the rule.
    """

    def _post_clean(self) -> None:
        pass


class ObjectListView(RoleRequiredMixin, ListView):
    """A filterable, searchable, sortable and paginated table of one model."""

    filterset_class = None
    columns: list[str | tuple[str, str]] = []
    ordering_fields: list[str] = []
    default_ordering: list[str] = []
    paginate_by = 50
    create_url_name = ""
    edit_url_name = ""
    delete_url_name = ""

    def get_permission_required(self):
        return [model_perm(self.model, "view")]

    def column_labels(self) -> list[tuple[str, str]]:
        """(attribute, header) pairs; a bare name takes the model field's verbose name."""
        labels = []
        for column in self.columns:
            if isinstance(column, tuple):
                labels.append(column)
            else:
                labels.append((column, capfirst(self.model._meta.get_field(column).verbose_name)))
        return labels

    def base_queryset(self) -> QuerySet:
        return self.model.objects.all()

    def get_queryset(self) -> QuerySet:
        self.filterset = self.filterset_class(
            self.request.GET or None, queryset=self.base_queryset()
        )
        queryset = (
            self.filterset.qs
            if self.filterset.is_bound and self.filterset.is_valid()
            else self.base_queryset()
        )
        ordering = self.request.GET.get("ordering", "")
        if ordering.lstrip("-") in self.ordering_fields:
            queryset = queryset.order_by(ordering, "pk")
        elif self.default_ordering:
            queryset = queryset.order_by(*self.default_ordering)
        return queryset

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(
            filterset=self.filterset,
            columns=self.column_labels(),
            ordering_fields=self.ordering_fields,
            current_ordering=self.request.GET.get("ordering", ""),
            querystring=query.urlencode(),
            can_add=self.request.user.has_perm(model_perm(self.model, "add")),
            can_change=self.request.user.has_perm(model_perm(self.model, "change")),
            can_delete=self.request.user.has_perm(model_perm(self.model, "delete")),
            create_url_name=self.create_url_name,
            edit_url_name=self.edit_url_name,
            delete_url_name=self.delete_url_name,
            verbose_name=self.model._meta.verbose_name,
            verbose_name_plural=self.model._meta.verbose_name_plural,
        )
        return context


class ObjectEditView(RoleRequiredMixin, TemplateView):
    """Create (no pk) or edit (pk) one row through its services.

    Operators may open the form (read-only) but never save it.
    """

    model: type[Model]
    form_class: type[forms.BaseForm]
    create_service: Callable[..., Any] | None = None
    update_service: Callable[..., Any] | None = None
    service_instance_kwarg = ""
    success_url_name = ""

    def get_permission_required(self):
        if "pk" in self.kwargs:
            return [model_perm(self.model, "view" if self.request.method == "GET" else "change")]
        return [model_perm(self.model, "add")]

    def get_object(self):
        if "pk" not in self.kwargs:
            return None
        return get_object_or_404(self.model, pk=self.kwargs["pk"])

    def get_form_kwargs(self) -> dict[str, Any]:
        return {"instance": self.object} if issubclass(self.form_class, forms.ModelForm) else {}

    def get_form(self, data=None):
        return self.form_class(data, **self.get_form_kwargs())

    def service_data(self, form) -> dict[str, Any]:
        return dict(form.cleaned_data)

    def saved_warnings(self, saved) -> list[str]:
        """What the user must still do after a save (e.g. enter a secret again)."""
        warnings = getattr(saved, "secret_warnings", None)
        return list(warnings().values()) if warnings else []

    def save(self, form):
        actor = Actor.for_user(self.request.user)
        data = self.service_data(form)
        if self.object is None:
            return type(self).create_service(actor=actor, **data)
        return type(self).update_service(
            actor=actor, **{self.service_instance_kwarg: self.object}, **data
        )

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        return self.render_to_response(self.get_context_data(form=self.get_form()))

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
        form = self.get_form(request.POST)
        if form.is_valid():
            try:
                saved = self.save(form)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("«%(object)s» guardado.") % {"object": saved})
                for warning in self.saved_warnings(saved):
                    messages.warning(request, warning)
                return HttpResponseRedirect(self.get_success_url(saved))
        return self.render_to_response(self.get_context_data(form=form), status=400)

    def get_success_url(self, saved) -> str:
        return reverse(self.success_url_name)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            object=self.object,
            verbose_name=self.model._meta.verbose_name,
            can_save=self.request.user.has_perm(
                model_perm(self.model, "change" if self.object is not None else "add")
            ),
            cancel_url=reverse(self.success_url_name),
        )
        return context


class ObjectDeleteView(RoleRequiredMixin, TemplateView):
    """Ask for confirmation, then delete through the service; a refusal is shown as a message."""

    model: type[Model]
    delete_service: Callable[..., Any]
    service_instance_kwarg = ""
    success_url_name = ""
    template_name = "portal/object_confirm_delete.html"

    def get_permission_required(self):
        return [model_perm(self.model, "delete")]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            object=get_object_or_404(self.model, pk=self.kwargs["pk"]),
            verbose_name=self.model._meta.verbose_name,
            cancel_url=reverse(self.success_url_name),
        )
        return context

    def post(self, request, *args, **kwargs):
        obj = get_object_or_404(self.model, pk=self.kwargs["pk"])
        label = str(obj)
        try:
            type(self).delete_service(
                actor=Actor.for_user(request.user), **{self.service_instance_kwarg: obj}
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("«%(object)s» borrado.") % {"object": label})
        return HttpResponseRedirect(reverse(self.success_url_name))


class ConfirmActionMixin:
    """A POST action that acts at once: its GET asks first, on a page with its one button.

    The view gives ``confirm_context(obj)``: title, question, button (and optionally a link to
    details); ``get_confirm_object()`` finds the object (404 when it does not exist).
    """

    http_method_names = ["get", "post"]

    def get_confirm_object(self):
        raise NotImplementedError

    def confirm_context(self, obj) -> dict[str, Any]:
        raise NotImplementedError

    def get(self, request, *args, **kwargs):
        obj = self.get_confirm_object()
        return render(request, "portal/confirm_action.html", self.confirm_context(obj))


class StyledFilterSet(django_filters.FilterSet):
    """A FilterSet whose form widgets carry Bootstrap's small classes."""

    @property
    def form(self):
        form = super().form
        if not getattr(form, "_styled", False):
            for field in form.fields.values():
                widget = field.widget
                if isinstance(widget, forms.Select):
                    widget.attrs["class"] = "form-select form-select-sm"
                else:
                    widget.attrs["class"] = "form-control form-control-sm"
            form._styled = True
        return form
