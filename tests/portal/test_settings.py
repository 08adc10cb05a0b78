"""Settings come from the environment; production mode refuses to start without a key."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    # A clean environment: nothing of this test process (e.g. the browser tests' async flag).
    dropped = {
        "SECRET_KEY",
        "DEBUG",
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "CACHE_URL",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
    }
    base = {k: v for k, v in os.environ.items() if k not in dropped}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_mode_refuses_to_start_without_secret_key(tmp_path):
    result = run_manage("check", env={"DEBUG": "0", "PORTAL_VAR_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "SECRET_KEY must be set in production mode" in result.stderr


def test_embedded_default_generates_and_keeps_a_secret_key(tmp_path):
    env = {"DEBUG": "1", "PORTAL_VAR_DIR": str(tmp_path)}
    assert run_manage("check", env=env).returncode == 0
    key_file = tmp_path / "secret_key"
    first = key_file.read_text()
    assert len(first) >= 50
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert run_manage("check", env=env).returncode == 0
    assert key_file.read_text() == first


def test_production_deploy_check_passes(tmp_path):
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(64),
            "ALLOWED_HOSTS": "portal.example.com",
            "PORTAL_VAR_DIR": str(tmp_path),
        },
    )
    assert result.returncode == 0, result.stderr + result.stdout


def test_bad_boolean_is_reported_by_name(tmp_path):
    result = run_manage("check", env={"DEBUG": "quizás", "PORTAL_VAR_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "DEBUG='quizás' is not a boolean" in result.stderr


def test_spanish_is_the_default_language():
    assert settings.LANGUAGE_CODE == "es"


def test_sessions_have_an_explicit_lifetime_and_httponly_cookies():
    assert settings.SESSION_COOKIE_AGE == 8 * 3600
    assert settings.SESSION_COOKIE_HTTPONLY and settings.CSRF_COOKIE_HTTPONLY


def test_database_backend_follows_database_url():
    engine = settings.DATABASES["default"]["ENGINE"]
    if os.environ.get("DATABASE_URL", "").startswith("mysql://"):
        assert engine == "django.db.backends.mysql"
        assert settings.DATABASES["default"]["OPTIONS"]["charset"] == "utf8mb4"
    else:
        assert engine == "django.db.backends.sqlite3"


def test_celery_runs_in_process_without_a_broker_and_uses_it_when_set():
    from portal.celery import app

    broker = os.environ.get("CELERY_BROKER_URL")
    if broker:
        assert not app.conf.task_always_eager
        assert app.conf.broker_url == broker
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=2)
    else:
        assert app.conf.task_always_eager


EAGER_TASK = """
from portal.celery import app

@app.task(name="tests.echo")
def echo(value):
    return value

assert app.conf.task_always_eager and not app.conf.broker_url
print("result", echo.delay((1, "dos")).get())
print("pool", app._pool)
"""


def test_without_a_broker_tasks_run_in_process_and_no_kombu_connection_is_made(tmp_path):
    # What run.sh printed on the embedded default: kombu's "No hostname was supplied" warning,
    # from a connection to the default amqp://localhost made for an in-process task.
    result = run_manage(
        "shell", "-c", EAGER_TASK, env={"DEBUG": "1", "PORTAL_VAR_DIR": str(tmp_path)}
    )
    assert result.returncode == 0, result.stderr
    # The arguments still went through the JSON serializer (the tuple came back a list).
    assert "result [1, 'dos']" in result.stdout
    assert "pool None" in result.stdout  # no broker connection pool was ever made
    assert "kombu" not in result.stderr and "hostname" not in result.stderr


@pytest.mark.parametrize("name", ["portal.sqlite3", "secret_key"])
def test_var_files_are_not_tracked(name):
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert "var/" in ignored


@pytest.mark.parametrize(
    ("host", "mode", "ca", "expected"),
    [
        ("127.0.0.1", "auto", "", {"ssl_disabled": True}),
        ("", "auto", "", {"ssl_disabled": True}),  # the server's socket
        ("db.example.com", "auto", "", {}),  # PyMySQL's preferred: TLS when offered
        ("db.example.com", "disabled", "", {"ssl_disabled": True}),
        ("127.0.0.1", "preferred", "", {}),
        ("db.example.com", "auto", "/etc/ssl/db-ca.pem", {"ssl": {"ca": "/etc/ssl/db-ca.pem"}}),
    ],
)
def test_database_tls_options(host, mode, ca, expected):
    from portal.settings import _mysql_tls_options

    assert _mysql_tls_options(host, mode, ca) == expected


@pytest.mark.parametrize(("mode", "message"), [("required", "needs DB_TLS_CA"), ("yes", "'yes'")])
def test_database_tls_refuses_what_it_cannot_do(mode, message):
    from django.core.exceptions import ImproperlyConfigured

    from portal.settings import _mysql_tls_options

    with pytest.raises(ImproperlyConfigured, match=message):
        _mysql_tls_options("db.example.com", mode, "")
