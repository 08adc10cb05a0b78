"""Filters shared by the list pages and the API."""

import django_filters

from users.models import PortalUser, SecondFactorExemptNetwork


class PortalUserFilterSet(django_filters.FilterSet):
    """Filter users by validation, double factor, pool and fixed extension."""

    has_fixed_extension = django_filters.BooleanFilter(
        field_name="webfon_extension", lookup_expr="isnull", exclude=True
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
