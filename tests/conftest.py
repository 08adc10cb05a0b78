import logging

import pytest
from django.core.servers.basehttp import WSGIServer
from playwright.sync_api import sync_playwright
from rest_framework.test import APIClient

from licensing.models import LicenseStock
from portal.actors import Actor
from portal.roles import ROLE_ADMIN
from portal.services import api_token_create
from tests.factories import NodeFactory, StaffUserFactory
from webfon.authlog import SerCenFormatter

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # The production-topology test's Apache answers as portal.example.com, on loopback.
    "--host-resolver-rules=MAP portal.example.com 127.0.0.1",
]

# The live server's listen backlog is 5 by default: the concurrency tests open hundreds of
# connections at once, which a real server (gunicorn: 2048) would queue, not reset.
WSGIServer.request_queue_size = 1024


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium through Playwright, one for the session: the sync API runs one
    Playwright per thread, so the browser tests of every folder share it."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def actor():
    return Actor.system("tests")


@pytest.fixture
def set_stock(db):
    """Set the licence stock directly (the stock service is tested on its own)."""

    def _set(stock: int) -> None:
        LicenseStock.objects.update_or_create(id=1, defaults={"stock": stock})

    return _set


@pytest.fixture
def licences(set_stock):
    """Plenty of licences, for tests about other rules."""
    set_stock(100_000)


@pytest.fixture
def corporate(db):
    return NodeFactory(name="VC-corp-zonaejemplo")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's deliberate slowness adds ~0.3 s per password set; tests only need *a* hash.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def client_for(db):
    """An API client authenticated with a new token of a staff account of ``role``."""

    def _client(role: str = ROLE_ADMIN) -> APIClient:
        user = StaffUserFactory(role=role)
        _token, key = api_token_create(actor=Actor.system("tests"), user=user)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client

    return _client


@pytest.fixture
def api(client_for):
    return client_for(ROLE_ADMIN)


@pytest.fixture
def auth_log(tmp_path):
    """The TRUCO_KO lines (webfon login log) written during the test, in a file of their own."""
    path = tmp_path / "serCen.log"
    handler = logging.FileHandler(path)
    handler.setFormatter(SerCenFormatter())
    logger = logging.getLogger("webfon.auth")
    logger.addHandler(handler)
    yield path
    logger.removeHandler(handler)
    handler.close()
