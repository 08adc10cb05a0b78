"""Forms of the "General > Usuarios > Administrar usuarios" pages.

They check types and formats only; every rule (one fixed extension or a pool, an extension
of a single user, password length, TOTP codes...) is the services' and their refusal is
shown next to the field it names.
"""

from django import forms
from django.db.models import Q, QuerySet
from django.forms.models import ModelChoiceIterator
from django.utils.translation import gettext_lazy as _

from core.ui import BootstrapFormMixin, ServiceModelForm
from extensions.models import Extension
from extensions.selectors import free_webfon_extensions_q
from users.models import PortalUser
from users.services import USER_ACCOUNT_FIELDS, USER_EDITABLE_FIELDS, USER_PBX_FIELDS


def mark_invalid(form: forms.BaseForm) -> None:
    """Give the widget of every field with an error Bootstrap's red outline."""
    for name in form.errors:
        if name in form.fields:
            attrs = form.fields[name].widget.attrs
            if "is-invalid" not in attrs.get("class", ""):
                attrs["class"] = f"{attrs.get('class', '')} is-invalid".strip()


class OfferedChoiceIterator(ModelChoiceIterator):
    """The options of a ModelChoiceField taken from another queryset than the one it
    validates against."""

    def __init__(self, field: forms.ModelChoiceField, queryset: QuerySet) -> None:
        super().__init__(field)
        self.queryset = queryset


def free_webfon_extensions(user: PortalUser | None, *, also: int | None = None) -> QuerySet:
    """Webfon extensions a user may take as fixed extension: in no pool and nobody else's,
    plus the user's own (and ``also``, the pk of a choice to keep on the page)."""
    offered = free_webfon_extensions_q()
    if user is not None and user.webfon_extension_id is not None:
        offered |= Q(pk=user.webfon_extension_id)
    if also is not None:
        offered |= Q(pk=also)
    return Extension.objects.filter(offered).only("pk", "number").order_by("number")


class PortalUserForm(ServiceModelForm):
    """A webfon user, in the manual's two tabs "Usuario" and "Centralita"."""

    TABS = (
        ("usuario", _("Usuario"), (*USER_ACCOUNT_FIELDS, "password", "password2")),
        ("centralita", _("Centralita"), USER_PBX_FIELDS),
    )

    class Meta:
        model = PortalUser
        fields = list(USER_EDITABLE_FIELDS)
        labels = {"pool": _("Pool de extensiones webfon")}
        help_texts = {
            "webfon_extension": _(
                "Se ofrecen las extensiones webfon libres: fuera de todo pool y sin otro usuario."
            ),
            "pool": _(
                "El usuario toma una extensión libre del pool al entrar en VIVAit Call Web. "
                "Un usuario tiene una extensión webfon fija o un pool, nunca ambos."
            ),
            "max_sessions": _("Sesiones de VIVAit Call Web abiertas a la vez (de 1 a 10)."),
        }
        widgets = {
            "email": forms.EmailInput(attrs={"autocomplete": "off"}),
            "mobile": forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
            "login_number": forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user = self.instance if self.instance.pk else None
        # Validate against every extension, so the service's message (another user's,
        # a pool member, a physical one) is what a refused choice shows; offer only free ones.
        extension = self.fields["webfon_extension"]
        extension.queryset = Extension.objects.all()
        extension.empty_label = _("Ninguna")
        # Keep the person's choice on the page when the service refuses it.
        chosen = str(self.data.get(self.add_prefix("webfon_extension")) or "")
        also = int(chosen) if chosen.isdigit() and len(chosen) < 19 else None
        extension.widget.choices = OfferedChoiceIterator(
            extension, free_webfon_extensions(user, also=also)
        )
        self.fields["pool"].empty_label = _("Ninguno")
        if user is None:
            help_text = _(
                "«TOTP» se puede elegir una vez creado el usuario y dado de alta y confirmado "
                "su TOTP."
            )
        elif user.totp_confirmed_at is None:
            help_text = _(
                "«TOTP» se puede elegir cuando el TOTP del usuario esté dado de alta y "
                "confirmado con un código (sección «Doble factor TOTP», más abajo)."
            )
        else:
            help_text = _("El usuario tiene TOTP activo: puede elegir «TOTP».")
        self.fields["second_factor"].help_text = help_text

    def tabs(self) -> list[dict]:
        """The tabs of the page, each with its bound fields; the first with an error is open."""
        tabs = []
        for slug, label, names in self.TABS:
            fields = [self[name] for name in names if name in self.fields]
            tabs.append(
                {
                    "slug": slug,
                    "label": label,
                    "fields": fields,
                    "has_errors": any(field.errors for field in fields),
                    "active": False,
                }
            )
        active = next((tab for tab in tabs if tab["has_errors"]), tabs[0])
        active["active"] = True
        return tabs


class PasswordFieldsMixin(forms.Form):
    """A password typed twice. Its length rule is the service's, shown next to the field."""

    password = forms.CharField(
        label=_("Contraseña"),
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("Repita la contraseña"),
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password") != cleaned.get("password2"):
            self.add_error("password2", _("Las dos contraseñas no coinciden."))
        return cleaned


class PortalUserCreateForm(PasswordFieldsMixin, PortalUserForm):
    """A new user, optionally with their portal (Vivait-Suite) password."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("password", "password2"):
            self.fields[name].required = False
        self.fields["password"].help_text = _(
            "Para la validación Vivait-Suite o Ambas; se puede poner más tarde."
        )

    def clean(self):
        cleaned = super().clean()
        cleaned.pop("password2", None)
        if not cleaned.get("password"):
            cleaned.pop("password", None)
        return cleaned


class PortalUserPasswordForm(BootstrapFormMixin, PasswordFieldsMixin):
    """Set or reset the user's portal (Vivait-Suite) password."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "pw")
        super().__init__(*args, **kwargs)


class TotpCodeForm(BootstrapFormMixin, forms.Form):
    """One code of the authenticator app, to confirm a TOTP enrolment."""

    code = forms.CharField(
        label=_("Código de 6 dígitos"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "size": 8}
        ),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "totp")
        super().__init__(*args, **kwargs)
