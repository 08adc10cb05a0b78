"""Passkeys (WebAuthn) as the staff second factor, on django-otp-webauthn's ceremonies.

The library's views run the ceremonies; these subclasses add what the portal needs: a
registration is audited (and may end a pending login), an authentication completes the
second step of a login (or a re-authentication) exactly like a TOTP code, and a failed one
during a login is audited. Passwordless login stays off (OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN).
"""

from __future__ import annotations

import json

from django.urls import path
from django.views.i18n import JavaScriptCatalog
from django_otp_webauthn import exceptions
from django_otp_webauthn import views as webauthn_views
from django_otp_webauthn.models import WebAuthnCredential

from accounts import services
from accounts.client import request_actor, request_client_ip
from accounts.views import PENDING_LOGIN, complete_second_factor, safe_next


class PasskeyRegistrationCompleteView(webauthn_views.CompleteCredentialRegistrationView):
    def post(self, *args, **kwargs):
        was_verified = self.request.user.is_verified()
        response = super().post(*args, **kwargs)
        if response.status_code == 200:
            device = WebAuthnCredential.objects.get(
                pk=json.loads(response.content)["id"], user=self.request.user
            )
            services.staff_passkey_enrolled(
                actor=request_actor(self.request), user=self.request.user, device=device
            )
            if not was_verified:
                # The library marked the session verified with it; this may end a login.
                complete_second_factor(self.request, device, method="webauthn")
        return response


class PasskeyAuthenticationCompleteView(webauthn_views.CompleteCredentialAuthenticationView):
    def complete_auth(self, device) -> None:
        if device.user_id != self.request.user.pk:
            raise exceptions.CredentialUserMismatch()
        complete_second_factor(self.request, device, method="webauthn")

    def get_success_url(self) -> str:
        return safe_next(self.request)

    def handle_exception(self, exc):
        if self.request.user.is_authenticated and self.request.session.get(PENDING_LOGIN):
            services.staff_login_failed(
                account=self.request.user.get_username(),
                client_ip=request_client_ip(self.request),
                reason="second_factor",
            )
        return super().handle_exception(exc)


# Mounted under /cuenta/passkeys/ with the library's namespace, so its template tags find them.
urlpatterns = [
    path(
        "registro/inicio/",
        webauthn_views.BeginCredentialRegistrationView.as_view(),
        name="credential-registration-begin",
    ),
    path(
        "registro/fin/",
        PasskeyRegistrationCompleteView.as_view(),
        name="credential-registration-complete",
    ),
    path(
        "autenticacion/inicio/",
        webauthn_views.BeginCredentialAuthenticationView.as_view(),
        name="credential-authentication-begin",
    ),
    path(
        "autenticacion/fin/",
        PasskeyAuthenticationCompleteView.as_view(),
        name="credential-authentication-complete",
    ),
    path(
        "autenticacion/textos.js",
        JavaScriptCatalog.as_view(packages=["django_otp_webauthn"]),
        name="js-i18n-catalog",
    ),
]
