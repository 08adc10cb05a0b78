from django import forms
from django.utils.translation import gettext_lazy as _

from core.ui import ServiceModelForm
from webfon.models import POLICY_EDITABLE_FIELDS, WebfonPolicy
from webfon.selectors import OCCUPANCY_MAX_DAYS


class WebfonPolicyForm(ServiceModelForm):
    """General > Política de acceso webfon."""

    class Meta:
        model = WebfonPolicy
        fields = list(POLICY_EDITABLE_FIELDS)


class OccupancyQueryForm(forms.Form):
    """The window and tolerance of a pool's occupancy (page and API alike): ``days`` from 1
    to 400 (30 when absent), ``tolerance`` the refusals accepted (0 when absent)."""

    days = forms.CharField(label=_("días"), required=False)
    tolerance = forms.CharField(label=_("rechazos tolerados"), required=False)

    @staticmethod
    def _whole(value: str, *, default: int, low: int, high: int, message) -> int:
        value = (value or "").strip()
        if not value:
            return default
        if not value.isascii() or not value.isdigit() or not low <= int(value) <= high:
            raise forms.ValidationError(message % {"value": value[:20]}, code="invalid")
        return int(value)

    def clean_days(self) -> int:
        return self._whole(
            self.cleaned_data.get("days"),
            default=30,
            low=1,
            high=OCCUPANCY_MAX_DAYS,
            message=_("«%(value)s» no vale como número de días: escriba un entero de 1 a 400."),
        )

    def clean_tolerance(self) -> int:
        return self._whole(
            self.cleaned_data.get("tolerance"),
            default=0,
            low=0,
            high=1000000,
            message=_(
                "«%(value)s» no vale como rechazos tolerados: escriba un entero de 0 a 1000000."
            ),
        )
