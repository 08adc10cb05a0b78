"""Forms of the Extensiones, Pool de extensiones and Plantillas pages.

They check types and formats only; every rule (numbering, pools, licences, the system
template) is checked by extensions.services, whose refusals the views put next to the field.
"""

from django import forms
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from core.ui import BootstrapFormMixin, ServiceModelForm, show_secret_warnings
from extensions.models import NUMBER_MAX_LENGTH, Extension, ExtensionPool, Template
from extensions.services import EXTENSION_EDITABLE_FIELDS, POOL_EDITABLE_FIELDS
from nodes.models import Node


class ExtensionForm(ServiceModelForm):
    """An extension. The registration secret is never rendered: empty keeps (or generates) it.

    An existing physical extension has no "Pool de extensiones" field and an existing webfon
    extension no "Usuario propietario" field; on a new extension both are shown and a few
    lines of JS hide the one that does not apply to the chosen kind.
    """

    registration_secret = forms.CharField(
        label=_("Clave de registro"),
        required=False,
        max_length=128,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_(
            "Déjela vacía para generar una clave segura (o conservar la actual). "
            "Nunca se muestra aquí; un administrador puede verla con «Mostrar clave»."
        ),
    )
    owner = forms.ModelChoiceField(
        label=_("Usuario propietario"),
        # The users come through the FK (users sits above extensions: no import of it).
        queryset=Extension._meta.get_field("owner").related_model._default_manager.all(),
        to_field_name="account",
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": _("cuenta")}),
        help_text=_("Solo extensiones físicas: la cuenta del usuario que la usa."),
        error_messages={"invalid_choice": _("No existe ningún usuario con la cuenta «%(value)s».")},
    )

    class Meta:
        model = Extension
        fields = list(EXTENSION_EDITABLE_FIELDS)
        labels = {
            "number": _("Extensión"),
            "pool": _("Pool de extensiones"),
        }
        help_texts = {
            "template": _(
                "Vacía en una extensión webfon: «Plantilla para Extensiones webfon» "
                "(o una copia suya, que conserva «Extensiones webfon» en su nombre)."
            ),
            "pool": _("Solo extensiones webfon. Una extensión física nunca está en un pool."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["node"].queryset = Node.objects.filter(kind=Node.Kind.CORPORATE)
        self.fields["node"].help_text = _("Las extensiones se dan de alta en un nodo corporativo.")
        self.fields["template"].empty_label = _("(plantilla webfon de sistema)")
        existing = self.instance.pk is not None
        if existing and self.instance.kind == Extension.Kind.PHYSICAL:
            del self.fields["pool"]
        if existing and self.instance.kind == Extension.Kind.WEBFON:
            del self.fields["owner"]
        if "owner" in self.fields and self.instance.owner_id is not None:
            self.initial["owner"] = self.instance.owner.account
        self.secret_warnings = show_secret_warnings(self, self.instance)


class MemberPickerWidget(forms.Widget):
    """The members chosen on a new pool, with a search box for webfon extensions in no pool.

    The search queries extensionpool_candidates with htmx; "Añadir" and "Quitar" only change
    this list (hidden inputs): nothing is saved until the pool form is.
    """

    template_name = "extensions/widgets/member_picker.html"

    def value_from_datadict(self, data, files, name):
        return data.getlist(name) if hasattr(data, "getlist") else data.get(name)

    def value_omitted_from_data(self, data, files, name):
        return False

    def format_value(self, value):
        if value is None:
            return []
        values = value if isinstance(value, list | tuple) else [value]
        return [str(v) for v in values if str(v).isdigit()]

    def render(self, name, value, attrs=None, renderer=None):
        # The project's template engine: the form renderer does not search templates/.
        return mark_safe(  # noqa: S308 - rendered by the template engine, which escapes
            render_to_string(self.template_name, self.get_context(name, value, attrs))
        )

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        pks = context["widget"]["value"]
        context["widget"]["chosen"] = (
            list(Extension.objects.filter(pk__in=pks).order_by("number").only("pk", "number"))
            if pks
            else []
        )
        context["widget"]["search_url"] = reverse("extensionpool_candidates")
        return context


class PoolForm(ServiceModelForm):
    """A pool: name, base extension (by number) and, on a new pool, its first members."""

    base_extension = forms.ModelChoiceField(
        label=_("Extensión base"),
        queryset=Extension.objects.all(),
        to_field_name="number",
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
        help_text=_(
            "Número de una extensión webfon ya creada; da el perfil (nodo, plantilla, sede, "
            "departamento) de las extensiones de un rango. No es miembro del pool si no se añade."
        ),
        error_messages={"invalid_choice": _("No existe la extensión «%(value)s».")},
    )
    members = forms.ModelMultipleChoiceField(
        label=_("Extensiones"),
        queryset=Extension.objects.all(),
        required=False,
        widget=MemberPickerWidget,
        help_text=_("Extensiones webfon que no están en ningún pool (búsqueda por número)."),
    )

    class Meta:
        model = ExtensionPool
        fields = list(POOL_EDITABLE_FIELDS)
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "daily_release_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A post without it (a script written before the policy existed) keeps the pool's.
        self.fields["relogin"].required = False
        if self.instance.pk is not None:
            # Members of an existing pool are added and removed one by one on its page.
            del self.fields["members"]
            self.initial["base_extension"] = self.instance.base_extension.number

    def clean_relogin(self) -> str:
        return self.cleaned_data.get("relogin") or self.instance.relogin


class PoolRangeForm(BootstrapFormMixin, forms.Form):
    """First and last number of a "Rango de extensiones"; services.range_numbers checks them."""

    first = forms.CharField(
        label=_("Primera extensión"),
        max_length=NUMBER_MAX_LENGTH,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    last = forms.CharField(
        label=_("Última extensión"),
        max_length=NUMBER_MAX_LENGTH,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )


class TemplateForm(ServiceModelForm):
    """A SIP template. The system template is shown with every field disabled."""

    class Meta:
        model = Template
        fields = ["name", "value", "webfon"]
        labels = {"webfon": _("Para extensiones webfon")}
        help_texts = {
            "value": _("Una opción SIP por línea; ${SIP.EXTEN} es el número de la extensión."),
            "webfon": _("Su nombre debe contener «Extensiones webfon»."),
        }
        widgets = {"value": forms.Textarea(attrs={"rows": 12, "class": "font-monospace"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None and self.instance.is_system:
            for field in self.fields.values():
                field.disabled = True


class TemplateDuplicateForm(BootstrapFormMixin, forms.Form):
    """The name of the copy made by "Duplicar"."""

    prefix = "duplicate"

    name = forms.CharField(
        label=_("Nombre de la copia"),
        max_length=100,
        help_text=_(
            "La copia de una plantilla webfon debe conservar «Extensiones webfon» en su nombre."
        ),
    )
