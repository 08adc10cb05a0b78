"""Filters of the extensions, pools and templates: the API's FilterSet of each model, and
its list page's, built on it (same filters where the page has them, the page's search and
"Todos" choices on top, the API-only filters left off the page's form)."""

import django_filters
from django.utils.translation import gettext_lazy

from core.ui import StyledFilterSet
from extensions.models import Extension, ExtensionPool, Template
from nodes.models import Node


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


class ExtensionPageFilterSet(StyledFilterSet, ExtensionFilterSet):
    """Search by number; filter by node, kind, pool and owner (by account, on the page)."""

    q = django_filters.CharFilter(
        field_name="number", lookup_expr="contains", label=gettext_lazy("Número")
    )
    kind = django_filters.ChoiceFilter(
        choices=Extension.Kind.choices,
        label=gettext_lazy("Tipo"),
        empty_label=gettext_lazy("Todos"),
    )
    node = django_filters.ModelChoiceFilter(
        queryset=Node.objects.filter(kind=Node.Kind.CORPORATE),
        label=gettext_lazy("Nodo"),
        empty_label=gettext_lazy("Todos"),
    )
    pool = django_filters.ModelChoiceFilter(
        queryset=ExtensionPool.objects.all(),
        label=gettext_lazy("Pool de extensiones"),
        empty_label=gettext_lazy("Todos"),
    )
    owner = django_filters.CharFilter(
        field_name="owner__account",
        lookup_expr="icontains",
        label=gettext_lazy("Usuario propietario (cuenta)"),
    )

    in_pool = None  # the page's pool select says it

    class Meta(ExtensionFilterSet.Meta):
        fields: list[str] = []


class PoolPageFilterSet(StyledFilterSet, ExtensionPoolFilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains", label=gettext_lazy("Nombre"))

    class Meta(ExtensionPoolFilterSet.Meta):
        fields: list[str] = []


class TemplatePageFilterSet(StyledFilterSet, TemplateFilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains", label=gettext_lazy("Nombre"))
    # A yes/no select with "Todas", not the NullBooleanSelect's "Desconocido".
    webfon = django_filters.ChoiceFilter(
        choices=[("true", gettext_lazy("Sí")), ("false", gettext_lazy("No"))],
        method="filter_webfon",
        label=gettext_lazy("Para extensiones webfon"),
        empty_label=gettext_lazy("Todas"),
    )

    class Meta(TemplateFilterSet.Meta):
        fields: list[str] = []

    def filter_webfon(self, queryset, name, value):
        return queryset.filter(webfon=value == "true")
