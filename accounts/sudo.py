"""Re-authentication ("sudo mode"): dangerous actions need a password (and second factor)
confirmed within the last STAFF_SUDO_SECONDS. A login counts as a confirmation.

Pages ask for it with :class:`SudoRequiredMixin`; the REST API with
:class:`SessionSudoPermission`, for the requests a browser's session signs (a token is a
credential of its own, created after a re-authentication)."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission

SUDO_SESSION_KEY = "staff_sudo_at"


def mark_sudo(request: HttpRequest) -> None:
    request.session[SUDO_SESSION_KEY] = time.time()


def sudo_fresh(request: HttpRequest) -> bool:
    confirmed_at = request.session.get(SUDO_SESSION_KEY)
    if not isinstance(confirmed_at, int | float):
        return False
    age = time.time() - confirmed_at
    return 0 <= age < settings.STAFF_SUDO_SECONDS


# Session key: when the password of a re-authentication was given, so a second factor that
# follows (a code or a passkey) may complete it.
SUDO_PASSWORD_SESSION_KEY = "staff_sudo_password_at"
SUDO_PASSWORD_STEP_SECONDS = 300


def mark_sudo_password(request: HttpRequest) -> None:
    request.session[SUDO_PASSWORD_SESSION_KEY] = time.time()


def take_sudo_password(request: HttpRequest) -> bool:
    """Whether the password step of a re-authentication was passed just before (spent now)."""
    given_at = request.session.pop(SUDO_PASSWORD_SESSION_KEY, None)
    return isinstance(given_at, int | float) and 0 <= time.time() - given_at < (
        SUDO_PASSWORD_STEP_SECONDS
    )


def sudo_required_response(request: HttpRequest, next_url: str) -> HttpResponse:
    """Send the user to confirm their identity, then back to ``next_url``."""
    target = f"{reverse('staff_sudo')}?{urlencode({'next': next_url})}"
    if request.method != "GET":
        messages.info(
            request,
            _("Por seguridad, confirme su identidad; después repita la acción."),
        )
    if request.headers.get("HX-Request") == "true":
        # htmx would swap the confirmation page into a fragment: make it navigate instead.
        response = HttpResponse(status=204)
        response["HX-Redirect"] = target
        return response
    return HttpResponseRedirect(target)


class SudoRequiredMixin:
    """A view whose ``sudo_methods`` are dangerous: a user holding ``sudo_permission`` must
    have confirmed their identity within STAFF_SUDO_SECONDS. Put it first among the bases;
    anonymous users and users without the permission fall through to the view's own checks.
    """

    sudo_permission = ""
    sudo_methods: tuple[str, ...] = ("POST",)

    def get_sudo_permission(self) -> str:
        return self.sudo_permission

    def sudo_next_url(self) -> str:
        """Where to come back after confirming: this page (a GET shows the form again)."""
        return self.request.get_full_path()

    def dispatch(self, request, *args, **kwargs):
        permission = self.get_sudo_permission()
        if (
            request.method in self.sudo_methods
            and request.user.is_authenticated
            and (not permission or request.user.has_perm(permission))
            and not sudo_fresh(request)
        ):
            return sudo_required_response(request, self.sudo_next_url())
        return super().dispatch(request, *args, **kwargs)


class SessionSudoPermission(BasePermission):
    """The API side of :class:`SudoRequiredMixin` (in DEFAULT_PERMISSION_CLASSES): the API's
    counterparts of the pages that ask for a re-authentication ask for it too when the
    request comes with the browser's session, so a stolen session cookie reveals no secret
    and changes no node or LDAP settings through the API either.

    A view names them in ``sudo_actions``: its action (a viewset's ``secret``,
    ``partial_update``…) or, for a plain view, its method in lower case (``put``), mapped to
    the permission whose holders must have confirmed, as ``sudo_permission`` on a page. A
    request signed with a token, or by a user without that permission (refused by the
    other checks), passes."""

    def has_permission(self, request, view) -> bool:
        actions: dict[str, str] = getattr(view, "sudo_actions", {})
        if not actions:
            return True
        permission = actions.get(getattr(view, "action", None) or request.method.lower())
        if permission is None or not isinstance(
            request.successful_authenticator, SessionAuthentication
        ):
            return True
        if not request.user.has_perm(permission) or sudo_fresh(request):
            return True
        self.message = _(
            "Esta acción pide confirmar su identidad: hágalo en %(url)s y repítala en los "
            "%(minutes)d minutos siguientes, o use un token de API."
        ) % {"url": reverse("staff_sudo"), "minutes": settings.STAFF_SUDO_SECONDS // 60}
        return False
