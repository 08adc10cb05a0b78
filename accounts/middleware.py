"""The staff second factor gate.

After the password, an account that has a second factor and has not given it in this
session reaches only the verification page; one whose role needs a second factor and has
none reaches only its enrolment ("Mi cuenta"). Runs after django-otp's OTPMiddleware, which
tells whether the session was verified with a device that still exists, so a reset by an
administrator takes effect on open sessions at once.

Requests without a session login (the webfon login API, API tokens, /healthz, static files)
are never touched.
"""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from accounts.selectors import STAGE_ENROL, STAGE_VERIFY, second_factor_stage

# Reachable whoever is logged in: public endpoints and what a browser needs to draw a page.
OPEN_PREFIXES = (
    "/i18n/",
    "/healthz",
    "/metrics",
    "/api/v1/webfon/login/",
    "/api/v1/webfon/logout/",
    "/csp-report/",
)


@cache
def _stage_paths() -> dict[str, tuple[frozenset[str], tuple[str, ...]]]:
    """Per stage: the exact paths and the path prefixes it may reach."""
    logout = reverse("logout")
    return {
        # The verification page and the passkey ceremony that can stand in for it.
        STAGE_VERIFY: (
            frozenset({reverse("staff_verify"), logout}),
            ("/cuenta/passkeys/autenticacion/",),
        ),
        # "Mi cuenta" and its enrolment actions (the account has no device to misuse yet).
        STAGE_ENROL: (frozenset({logout}), (reverse("account"),)),
    }


def _allowed(path: str, stage: str) -> bool:
    exact, prefixes = _stage_paths()[stage]
    return path in exact or path.startswith(prefixes)


def _target(stage: str) -> str:
    return reverse("staff_verify" if stage == STAGE_VERIFY else "account")


def _open(path: str) -> bool:
    static = "/" + settings.STATIC_URL.lstrip("/")
    return path.startswith((static, *OPEN_PREFIXES))


class StaffSecondFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        user = request.user
        path = request.path_info
        if user.is_authenticated and not _open(path) and not user.is_verified():
            stage = second_factor_stage(user)
            # The pages it may reach draw no menu (every link would lead back here).
            request.staff_second_factor_due = stage
            if stage is not None and not _allowed(path, stage):
                return self._refuse(request, stage)
        return self.get_response(request)

    @staticmethod
    def _refuse(request: HttpRequest, stage: str):
        if request.path_info.startswith("/api/"):
            message = (
                _("Falta el segundo factor de esta sesión.")
                if stage == STAGE_VERIFY
                else _("Su cuenta necesita un segundo factor: dé de alta uno en «Mi cuenta».")
            )
            return JsonResponse({"detail": message}, status=403)
        target = _target(stage)
        if request.method == "GET":
            target += "?" + urlencode({"next": request.get_full_path()})
        return HttpResponseRedirect(target)
