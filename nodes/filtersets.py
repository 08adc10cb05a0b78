"""Filters shared by the list pages and the API."""

import django_filters
from django.utils.translation import gettext_lazy as _

from core.ui import StyledFilterSet
from nodes.models import Node, Push


class NodeFilterSet(django_filters.FilterSet):
    class Meta:
        model = Node
        fields = {"name": ["exact", "icontains"], "kind": ["exact"], "transport": ["exact"]}


class PushFilterSet(StyledFilterSet):
    """Pushes by node and by state; the states go by the API's names (queued, succeeded…)."""

    status = django_filters.ChoiceFilter(
        label=_("Estado"),
        choices=[
            ("queued", _("Pendiente")),
            ("running", _("En curso")),
            ("succeeded", _("Aplicado")),
            ("unchanged", _("Sin cambios")),
            ("failed", _("Fallido")),
            ("rolled_back", _("Revertido")),
        ],
        method="filter_status",
    )

    class Meta:
        model = Push
        fields = {"node": ["exact"]}

    def filter_status(self, queryset, name, value):
        model_status = {"queued": "pending", "succeeded": "applied"}.get(value, value)
        return queryset.filter(status=model_status)
