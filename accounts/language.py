"""The interface language: Spanish whatever the browser's Accept-Language says; a staff account
that chose English (the top bar's switch) gets it on every page, in every browser, from the
next login on. Replaces Django's LocaleMiddleware (which follows Accept-Language)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import translation
from django.views.i18n import set_language as django_set_language

from accounts.models import StaffPreference
from accounts.services import staff_language_set
from core.actors import Actor

SESSION_KEY = "staff_language"
CODES = {code for code, _name in settings.LANGUAGES}


def request_language(request: HttpRequest) -> str:
    """The account's choice (kept in its session from login), else the switch's cookie (the
    pages before login), else Spanish. Never Accept-Language."""
    session = getattr(request, "session", None)
    chosen = session.get(SESSION_KEY) if session is not None else None
    if chosen not in CODES:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    return chosen if chosen in CODES else settings.LANGUAGE_CODE


class StaffLanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = request_language(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


@receiver(user_logged_in, dispatch_uid="accounts.language_on_login")
def _language_on_login(sender, request, user, **kwargs) -> None:
    """The account's remembered language goes into its new session (one query, at login)."""
    if request is None or not hasattr(request, "session"):
        return
    language = StaffPreference.objects.filter(user=user).values_list("language", flat=True).first()
    if language in CODES:
        request.session[SESSION_KEY] = language


def set_language(request: HttpRequest):
    """Django's set_language (cookie, back to ``next``), remembered on the staff account."""
    response = django_set_language(request)
    language = request.POST.get("language")
    user = getattr(request, "user", None)
    if request.method == "POST" and language in CODES and user and user.is_authenticated:
        staff_language_set(actor=Actor.for_user(user), user=user, language=language)
        request.session[SESSION_KEY] = language
    return response
