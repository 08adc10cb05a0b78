"""Filters shared by the sessions page and the API."""

import django_filters

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
