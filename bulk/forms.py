from django import forms
from django.utils.translation import gettext_lazy as _

from bulk.models import Import
from core.ui import BootstrapFormMixin


class ImportUploadForm(BootstrapFormMixin, forms.Form):
    kind = forms.ChoiceField(label=_("Qué importa"), choices=Import.Kind.choices)
    file = forms.FileField(
        label=_("Fichero CSV o XLSX"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
    )
