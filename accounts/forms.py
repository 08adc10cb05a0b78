"""Forms of the staff login and account pages (type checks; the rules live in services)."""

from django import forms
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy

from accounts import services
from accounts.client import request_client_ip
from accounts.lockout import lockout_acquire, lockout_failed, lockout_succeeded
from core.ui import BootstrapFormMixin


class StaffAuthenticationForm(AuthenticationForm):
    """Django's login form behind the lockout of accounts/lockout.py.

    The slot is taken before ``authenticate()`` runs the hasher; a locked pair is refused
    with one message whether the account exists or not.
    """

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if not username or not password:
            return self.cleaned_data
        client_ip = request_client_ip(self.request)
        if not lockout_acquire(account=username, client_ip=client_ip):
            services.staff_login_locked(account=username, client_ip=client_ip)
            raise ValidationError(
                services.lockout_message(max(1, settings.STAFF_LOGIN_LOCKOUT_SECONDS // 60)),
                code="locked",
            )
        self.user_cache = authenticate(self.request, username=username, password=password)
        if self.user_cache is None:
            locked_until = lockout_failed(account=username, client_ip=client_ip)
            services.staff_login_failed(
                account=username,
                client_ip=client_ip,
                reason="bad_credentials",
                locked_until=locked_until,
            )
            raise self.get_invalid_login_error()
        lockout_succeeded(account=username, client_ip=client_ip)
        self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


class SecondFactorCodeForm(BootstrapFormMixin, forms.Form):
    """A code of the authenticator app, or one of the recovery codes."""

    code = forms.CharField(
        label=gettext_lazy("Código"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "inputmode": "text"}
        ),
        help_text=gettext_lazy(
            "Los 6 dígitos de su app de autenticación, o uno de sus códigos de recuperación."
        ),
    )


class TotpConfirmForm(BootstrapFormMixin, forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Código de la app"),
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class SudoForm(BootstrapFormMixin, forms.Form):
    """Re-authentication: the password, and a code when the account has a second factor."""

    password = forms.CharField(
        label=gettext_lazy("Contraseña"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )
    code = forms.CharField(
        label=gettext_lazy("Código de la app o de recuperación"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}),
    )
