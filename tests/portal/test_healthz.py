"""GET /healthz: no login, 200 when the database, the cache and the broker answer; 503 naming
the failing checks within 2 s when a server refuses connections or accepts them and never
answers; nothing about the servers or the error in the answer, everything in the log.

The failing cases run the portal in a process of its own, configured from the environment as in
production, against real sockets on loopback: a port nobody listens on, and a listener that
never answers. The topology test (tests/deploy) stops a real Redis under a running gunicorn."""

import json
import os
import socket
import subprocess
import sys

import pytest
from django.test import Client

from tests.integration.ssh_server import free_port
from tests.portal.test_settings import ROOT

pytestmark = pytest.mark.django_db


def test_healthy_without_login():
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "broker": "ok"},
    }
    assert "no-cache" in response["Cache-Control"] and "no-store" in response["Cache-Control"]
    assert Client().head("/healthz").status_code == 200
    assert Client().post("/healthz").status_code == 405


@pytest.fixture
def silent_port():
    """A listener that completes connections (the kernel's backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield sock.getsockname()[1]


ASK = """
import json, time
import django
django.setup()
from django.test import Client
Client().get("/login/", HTTP_HOST="localhost")  # what a running server has loaded already
started = time.monotonic()
response = Client().get("/healthz", HTTP_HOST="localhost")
print(json.dumps({"status": response.status_code, "seconds": time.monotonic() - started,
                  "body": response.content.decode()}))
"""


def ask_healthz(tmp_path, **servers: int) -> tuple[dict, str]:
    """/healthz of a portal whose named servers (database, cache, broker) are at those ports."""
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DEBUG": "1",
        "PORTAL_VAR_DIR": str(tmp_path),
    }
    if "database" in servers:
        env["DATABASE_URL"] = (
            f"mysql://portal:secreto-de-prueba@127.0.0.1:{servers['database']}/portal"
        )
    if "cache" in servers:
        env["CACHE_URL"] = f"redis://127.0.0.1:{servers['cache']}/1"
    if "broker" in servers:
        env["CELERY_BROKER_URL"] = f"redis://127.0.0.1:{servers['broker']}/0"
    result = subprocess.run(
        [sys.executable, "-c", ASK],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


@pytest.mark.parametrize(
    ("how", "down"),
    [
        ("refused", ("database",)),
        ("refused", ("cache",)),
        ("refused", ("broker",)),
        # The slowest case: every client waits for its timeout (redis-py even retries).
        ("silent", ("database", "cache", "broker")),
    ],
    ids=lambda value: value if isinstance(value, str) else "-".join(value),
)
def test_a_server_down_is_named_within_two_seconds_and_only_in_the_log(
    tmp_path, silent_port, down, how
):
    port = silent_port if how == "silent" else free_port()
    answer, log = ask_healthz(tmp_path, **dict.fromkeys(down, port))
    assert answer["status"] == 503
    assert answer["seconds"] < 2
    expected = {name: "fail" if name in down else "ok" for name in ("database", "cache", "broker")}
    assert json.loads(answer["body"]) == {"status": "fail", "checks": expected}
    for name in down:
        assert f"health.check_failed check={name} " in log
    # The answer is public: no address, port, product or error text in it.
    for leak in ("127.0.0.1", str(port), "redis", "mysql", "Error", "timed out", "secreto"):
        assert leak not in answer["body"]
    assert "secreto-de-prueba" not in log
