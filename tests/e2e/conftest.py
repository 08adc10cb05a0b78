"""Browser tests: real Chromium (Debian's, the `browser` fixture of tests/conftest.py) driven by
Playwright through a live server.

Every page visited is saved as a screenshot under var/screenshots/ (a CI artifact).
"""

import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connections

from tests.factories import StaffUserFactory, totp_code

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
PASSWORD = "contraseña-de-prueba-1"

# Playwright's sync API runs an event loop in this thread; Django's ORM is still safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


class Visit:
    """A browser tab on the live server that screenshots every page it lands on."""

    def __init__(self, page, base_url: str, test_name: str):
        self.page = page
        self.base_url = base_url
        self.prefix = re.sub(r"[^A-Za-z0-9_-]+", "_", test_name)
        self.count = 0
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def shot(self, label: str) -> Path:
        self.count += 1
        path = SCREENSHOTS / f"{self.prefix}-{self.count:02d}-{label}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def goto(self, path: str, label: str):
        self.page.goto(self.base_url + path)
        self.shot(label)
        return self.page

    def login(self, username: str) -> None:
        self.goto("/login/", "login")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state()
        if "/cuenta/verificar/" in self.page.url:
            # The second step, with a code of the account's authenticator app.
            self.shot("second-factor")
            user = get_user_model().objects.get(username=username)
            self.page.fill("#id_code", totp_code(user))
            self.page.click("form:has(#id_code) button[type=submit]")
            self.page.wait_for_load_state()
        self.shot("after-login")


@pytest.fixture
def visit(browser, live_server, request):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="es-ES")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield Visit(page, live_server.url, request.node.name)
    context.close()


@pytest.fixture
def staff(transactional_db):
    def _make(role: str = "administrador", username: str | None = None):
        kwargs = {"role": role}
        if username:
            kwargs["username"] = username
        return StaffUserFactory(**kwargs)

    return _make


@pytest.fixture(scope="module", autouse=True)
def _serialized_rollback_survives_playwright(django_db_setup, browser):
    """Keep serialized_rollback working once Playwright runs.

    Starting Playwright's sync API leaves an asyncio loop running on this thread, so Django's
    connection handler (a thread-critical asgiref Local) hands out a new connection object
    instead of the one setup_databases() stored the serialized database on, whenever a
    non-transactional test ran first. The first browser test's flush then loses the rows of
    the data migrations (the system template...) for every later one. Give the new
    connection the serialized contents of the original, kept in the Local's thread storage.
    """
    sync_side = connections._connections._storage
    for alias in connections:
        original = getattr(sync_side, alias, None)
        current = connections[alias]
        if not hasattr(current, "_test_serialized_contents") and hasattr(
            original, "_test_serialized_contents"
        ):
            current._test_serialized_contents = original._test_serialized_contents
