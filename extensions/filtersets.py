"""Filters shared by the list pages and the API."""

import django_filters

from extensions.models import Extension, ExtensionPool, Template


class ExtensionFilterSet(django_filters.FilterSet):
    """Filter extensions by kind, node, template, site, department, owner and pool."""

    in_pool = django_filters.BooleanFilter(field_name="pool", lookup_expr="isnull", exclude=True)

    class Meta:
        model = Extension
        fields = {
            "number": ["exact", "startswith"],
            "kind": ["exact"],
            "node": ["exact"],
            "template": ["exact"],
            "site": ["exact", "icontains"],
            "department": ["exact", "icontains"],
            "owner": ["exact"],
            "pool": ["exact"],
        }


class ExtensionPoolFilterSet(django_filters.FilterSet):
    class Meta:
        model = ExtensionPool
        fields = {"name": ["exact", "icontains"], "base_extension": ["exact"]}


class TemplateFilterSet(django_filters.FilterSet):
    class Meta:
        model = Template
        fields = {"name": ["exact", "icontains"], "is_system": ["exact"], "webfon": ["exact"]}
