"""Filters shared by the list pages and the API."""

import django_filters

from nodes.models import Node


class NodeFilterSet(django_filters.FilterSet):
    class Meta:
        model = Node
        fields = {"name": ["exact", "icontains"], "kind": ["exact"], "transport": ["exact"]}
