from django import forms
from django.utils.translation import gettext_lazy as _

from core.ui import BootstrapFormMixin

MAX_COUNT = 10_000_000


class LicenseStockForm(BootstrapFormMixin, forms.Form):
    stock = forms.IntegerField(label=_("Licencias contratadas"), min_value=0, max_value=MAX_COUNT)


class LicenseCalculatorForm(BootstrapFormMixin, forms.Form):
    """Inputs of the sales calculator; read from the query string so a result can be shared."""

    physical = forms.IntegerField(
        label=_("Extensiones físicas (HARD)"),
        min_value=0,
        max_value=MAX_COUNT,
        initial=0,
        required=False,
    )
    fixed_webfon = forms.IntegerField(
        label=_("Usuarios con extensión webfon fija"),
        min_value=0,
        max_value=MAX_COUNT,
        initial=0,
        required=False,
    )

    def __init__(self, data=None, *args, **kwargs):
        super().__init__(data, *args, **kwargs)
        raw = data.getlist("pool_size") if data is not None else []
        self.pool_values = [value.strip() for value in raw if value.strip()] or [""]

    def clean(self):
        cleaned = super().clean()
        sizes, errors = [], []
        for value in self.pool_values:
            if value == "":
                continue
            if not value.isdigit() or int(value) > MAX_COUNT:
                errors.append(
                    _(
                        "«%(value)s» no es un tamaño de pool válido: escriba un número entero entre 0 y %(max)d."
                    )
                    % {"value": value, "max": MAX_COUNT}
                )
            else:
                sizes.append(int(value))
        if errors:
            raise forms.ValidationError(errors)
        if len(sizes) > 100:
            raise forms.ValidationError(_("Como máximo 100 pools."))
        cleaned["pool_sizes"] = sizes
        cleaned["physical"] = cleaned.get("physical") or 0
        cleaned["fixed_webfon"] = cleaned.get("fixed_webfon") or 0
        return cleaned
