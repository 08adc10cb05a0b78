"""Filters shared by the list pages and the API."""

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _

from core.ui import StyledFilterSet
from extensions.models import ExtensionPool
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


class PortalUserPageFilterSet(StyledFilterSet, PortalUserFilterSet):
    """The filters of the list page: one search box and the choices an administrator uses."""

    q = django_filters.CharFilter(
        method="search",
        label=gettext_lazy("Buscar"),
        widget=forms.TextInput(
            attrs={"placeholder": gettext_lazy("Cuenta, nombre, login, correo"), "size": 26}
        ),
    )
    validation = django_filters.ChoiceFilter(
        choices=PortalUser.Validation.choices,
        label=gettext_lazy("Validación"),
        empty_label=gettext_lazy("Todas"),
    )
    second_factor = django_filters.ChoiceFilter(
        choices=PortalUser.SecondFactor.choices,
        label=gettext_lazy("Doble factor"),
        empty_label=gettext_lazy("Todos"),
    )
    access = django_filters.ChoiceFilter(
        method="filter_access",
        choices=[
            ("fixed", gettext_lazy("Fija")),
            ("pool", gettext_lazy("De un pool")),
            ("none", gettext_lazy("Ninguna")),
        ],
        label=gettext_lazy("Extensión webfon"),
        empty_label=gettext_lazy("Todas"),
    )
    pool = django_filters.ModelChoiceFilter(
        queryset=ExtensionPool.objects.only("pk", "name"),
        label=gettext_lazy("Pool de extensiones webfon"),
        empty_label=gettext_lazy("Todos"),
    )
    connected = django_filters.ChoiceFilter(
        method="filter_connected_choice",
        choices=[("yes", gettext_lazy("Sí")), ("no", gettext_lazy("No"))],
        label=gettext_lazy("Conectado"),
        empty_label=gettext_lazy("Todos"),
    )
    # The shared filter set's yes/no filter is replaced by "access" on this page.
    has_fixed_extension = None

    class Meta(PortalUserFilterSet.Meta):
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # "Conectado" is declared by the shared filter set, so it would come first; the
        # search box leads, as on every list page.
        self.filters.move_to_end("connected")

    def search(self, queryset, name, value):
        """Every word must appear in the account, name, login number or e-mail."""
        for word in value.split():
            queryset = queryset.filter(
                Q(account__icontains=word)
                | Q(name__icontains=word)
                | Q(login_number__icontains=word)
                | Q(email__icontains=word)
            )
        return queryset

    def filter_connected_choice(self, queryset, name, value):
        return filter_connected(queryset, name, {"yes": True, "no": False}.get(value))

    def filter_access(self, queryset, name, value):
        if value == "fixed":
            return queryset.filter(webfon_extension__isnull=False)
        if value == "pool":
            return queryset.filter(pool__isnull=False)
        if value == "none":
            return queryset.filter(webfon_extension__isnull=True, pool__isnull=True)
        return queryset
