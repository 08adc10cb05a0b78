"""Filters shared by the list pages and the API."""

import django_filters
from django.utils.translation import gettext_lazy as _

from users.models import PortalUser, SecondFactorExemptNetwork
from users.selectors import user_connected_condition


def filter_connected(queryset, name, value):
    """Users with (True) or without (False) a webfon session in force."""
    if value is None:
        return queryset
    live = user_connected_condition()
    return queryset.filter(live if value else ~live)


class PortalUserFilterSet(django_filters.FilterSet):
    """Filter users by validation, double factor, pool and fixed extension."""

    has_fixed_extension = django_filters.BooleanFilter(
        field_name="webfon_extension", lookup_expr="isnull", exclude=True
    )
    connected = django_filters.BooleanFilter(
        method=lambda queryset, name, value: filter_connected(queryset, name, value),
        label=_("Conectado"),
    )

    class Meta:
        model = PortalUser
        fields = {
            "account": ["exact", "icontains"],
            "name": ["icontains"],
            "email": ["exact", "icontains"],
            "login_number": ["exact", "startswith"],
            "validation": ["exact"],
            "second_factor": ["exact"],
            "pool": ["exact"],
            "webfon_extension": ["exact"],
        }


class ExemptNetworkFilterSet(django_filters.FilterSet):
    class Meta:
        model = SecondFactorExemptNetwork
        fields = {"network": ["exact"]}
