"""Set-up of the staff login tests: a staff member's browser, a counting hasher."""

import http.cookiejar
import re
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.test import Client

from tests.factories import STAFF_PASSWORD
from tests.webfon.test_races import race

__all__ = ["race"]  # shared with the webfon races: threads that start their calls at once

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
RESET_LINK = re.compile(r"http://testserver(/login/recuperar/[^/\s]+/[^/\s]+/)")


def request_reset(client, email: str):
    """¿Ha olvidado su contraseña? for ``email``, following the answer's redirect."""
    return client.post("/login/recuperar/", {"email": email}, follow=True)


def reset_link_in(message) -> str:
    """The path of the reset link a reset e-mail carries."""
    return RESET_LINK.search(message.get_payload(decode=True).decode()).group(1)


class CountingHasher(MD5PasswordHasher):
    """MD5 (as every test uses) that counts the passwords it checks."""

    calls = 0
    _lock = threading.Lock()

    def verify(self, password, encoded):
        with CountingHasher._lock:
            CountingHasher.calls += 1
        return super().verify(password, encoded)


@pytest.fixture
def counting_hasher(settings):
    settings.PASSWORD_HASHERS = ["tests.accounts.conftest.CountingHasher"]
    CountingHasher.calls = 0
    return CountingHasher


@pytest.fixture
def staff_browser():
    """A test client that logs in through the login page, from a given address."""

    def _browser(address: str = "192.0.2.10") -> Client:
        return Client(REMOTE_ADDR=address)

    return _browser


def post_login(client: Client, username: str, password: str = STAFF_PASSWORD, **extra):
    return client.post("/login/", {"username": username, "password": password}, **extra)


def live_login(base_url: str, username: str, password: str) -> tuple[int, str]:
    """Log in through a live server the way a browser does: the page, its CSRF token, POST."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect())
    with opener.open(base_url + "/login/", timeout=60) as page:
        token = CSRF_INPUT.search(page.read().decode()).group(1)
    body = urllib.parse.urlencode(
        {"username": username, "password": password, "csrfmiddlewaretoken": token}
    ).encode()
    request = urllib.request.Request(base_url + "/login/", data=body, headers={"Referer": base_url})
    try:
        with opener.open(request, timeout=60) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
