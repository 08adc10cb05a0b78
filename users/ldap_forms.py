from django import forms
from django.utils.translation import gettext_lazy as _

from core.ui import ServiceModelForm, show_secret_warnings
from users.models import LdapSettings
from users.services import LDAP_EDITABLE_FIELDS


class LdapSettingsForm(ServiceModelForm):
    """General > Configurar LDAP. The bind password is write-only: empty keeps the stored one."""

    bind_password = forms.CharField(
        label=_("Contraseña de la cuenta de servicio"),
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Déjela vacía para conservar la guardada."),
    )
    test_account = forms.CharField(
        label=_("Cuenta para probar"),
        required=False,
        max_length=256,
        help_text=_(
            "«Probar conexión» se conecta con estos datos, busca esta cuenta y muestra la respuesta, sin guardar."
        ),
    )

    class Meta:
        model = LdapSettings
        fields = list(LDAP_EDITABLE_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.secret_warnings = show_secret_warnings(self, self.instance)
