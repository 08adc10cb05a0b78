"""Filters shared by the sessions page and the API."""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy

from core.ui import StyledFilterSet
from webfon.models import WebfonSession


class WebfonSessionFilterSet(django_filters.FilterSet):
    """Filter sessions by user, account, extension, state and origin."""

    account = django_filters.CharFilter(field_name="user__account", lookup_expr="iexact")

    class Meta:
        model = WebfonSession
        fields = {
            "user": ["exact"],
            "state": ["exact"],
            "extension_number": ["exact"],
            "client_ip": ["exact"],
            "application": ["exact"],
        }


class WebfonSessionPageFilterSet(StyledFilterSet, WebfonSessionFilterSet):
    """The page's filters, on the API's: one search box (account, extension or origin)."""

    q = django_filters.CharFilter(method="search", label=gettext_lazy("Buscar"))
    account = None  # the search box finds the account

    class Meta(WebfonSessionFilterSet.Meta):
        fields: list[str] = []

    def search(self, queryset, name, value):
        for word in value.split():
            queryset = queryset.filter(
                Q(user__account__icontains=word)
                | Q(extension_number__startswith=word)
                | Q(client_ip__startswith=word)
            )
        return queryset
