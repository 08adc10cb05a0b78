"""Filters of the audit trail, shared by the page and (later) the API."""

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from core.models import AuditEntry
from core.ui import StyledFilterSet


class IPAddressFilter(django_filters.Filter):
    field_class = forms.GenericIPAddressField


class AuditEntryFilterSet(StyledFilterSet):
    """Filter audit entries by author, object, action and date."""

    actor_label = django_filters.CharFilter(label=_("Autor"), lookup_expr="icontains")
    object_type = django_filters.CharFilter(label=_("Tipo de objeto"), lookup_expr="exact")
    object_repr = django_filters.CharFilter(label=_("Objeto"), lookup_expr="icontains")
    action = django_filters.CharFilter(label=_("Acción"), lookup_expr="startswith")
    # A form field that parses the address, so a malformed one is a form error, not a query.
    client_ip = IPAddressFilter(label=_("Dirección"), lookup_expr="exact")
    created_at = django_filters.DateFromToRangeFilter(
        label=_("Fecha (desde / hasta)"),
        widget=django_filters.widgets.DateRangeWidget(attrs={"type": "date"}),
    )

    class Meta:
        model = AuditEntry
        fields = ["actor_label", "client_ip", "object_type", "object_repr", "action", "created_at"]

    @property
    def form(self):
        form = super().form
        # Two inputs under one label: each says which end of the range it is.
        since, until = form.fields["created_at"].widget.widgets
        since.attrs["aria-label"] = _("Fecha desde")
        until.attrs["aria-label"] = _("Fecha hasta")
        return form
