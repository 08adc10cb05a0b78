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

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


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


def race(count: int, call) -> list:
    """Start ``count`` threads that wait for each other, then call at once."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = call(index)
        except Exception as exc:  # reported by the assertion below
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors[:3]
    return results
