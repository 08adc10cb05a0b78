"""Filters shared by the list pages and the API."""

import django_filters

from nodes.models import Node, Push


class NodeFilterSet(django_filters.FilterSet):
    class Meta:
        model = Node
        fields = {"name": ["exact", "icontains"], "kind": ["exact"], "transport": ["exact"]}


class PushFilterSet(django_filters.FilterSet):
    """Pushes by node and by state, under the API's state names."""

    status = django_filters.ChoiceFilter(
        choices=[
            ("queued", "queued"),
            ("running", "running"),
            ("succeeded", "succeeded"),
            ("unchanged", "unchanged"),
            ("failed", "failed"),
            ("rolled_back", "rolled_back"),
        ],
        method="filter_status",
    )

    class Meta:
        model = Push
        fields = {"node": ["exact"]}

    def filter_status(self, queryset, name, value):
        model_status = {"queued": "pending", "succeeded": "applied"}.get(value, value)
        return queryset.filter(status=model_status)
