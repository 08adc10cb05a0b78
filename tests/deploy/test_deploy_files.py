"""The files of deploy/, checked by the programs that read them: systemd-analyze verify on the
units, apache2ctl -t on the site (in a copy of Debian's /etc/apache2, set up as the README
says), gunicorn's own reading of its configuration; and the environment file against the
README's configuration table and the variables the code reads."""

import json
import os
import re
import subprocess

import pytest

from tests.deploy.deployment import (
    DEPLOY,
    ENV_EXAMPLE,
    ENV_FILE,
    INSTALL_DIR,
    ROOT,
    SITE,
    SYSTEMD_ANALYZE,
    UNITS,
    apache2ctl,
    apache_confdir,
    installed,
    parse_unit,
    site_with,
    unit_command,
    unit_path,
)

README = (ROOT / "README.md").read_text()
# Variables the deployment files name that no code of this checkout reads yet (another branch
# adds them): listed in the env file, documented with that code.
ENV_FILE_ONLY: set[str] = set()
_ENV_READ = re.compile(
    r"""(?:env_(?:str|bool|int|list)|os\.environ\.get|os\.getenv|_int)\(\s*["']([A-Z][A-Z0-9_]+)["']"""
)
_VARIABLE_LINE = re.compile(r"^#?([A-Z][A-Z0-9_]*)=")


def readme_section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", README, flags=re.M | re.S)
    assert match, f"README has no section {title!r}"
    return match.group(1)


def configuration_table() -> set[str]:
    names = set()
    for line in readme_section("Configuration").splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            names |= set(re.findall(r"`([A-Z][A-Z0-9_]+)`", first_cell))
    return names


def variables_read_by_the_code() -> set[str]:
    names = set()
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in {".venv", "tests", "bench", "var"}:
            continue
        names |= set(_ENV_READ.findall(path.read_text()))
    return names


def test_the_table_documents_every_variable_the_code_reads_and_no_other():
    table, read = configuration_table(), variables_read_by_the_code()
    assert {"SECRET_KEY", "GUNICORN_WORKERS", "PORTAL_VAR_DIR", "DB_TLS_CA"} <= read
    assert read - table == set(), "read by the code, missing from the README table"
    assert table - read == set(), "in the README table, read by no code"


def test_the_env_example_lists_every_variable_of_the_table_with_a_comment():
    lines = ENV_EXAMPLE.read_text().splitlines()
    listed = {}
    for index, line in enumerate(lines):
        if match := _VARIABLE_LINE.match(line):
            assert match.group(1) not in listed, f"{match.group(1)} twice"
            listed[match.group(1)] = index
    assert set(listed) == configuration_table() | ENV_FILE_ONLY
    for name, index in listed.items():
        # Above each variable (or the group of variables it belongs to): its comment.
        above = index - 1
        while above >= 0 and _VARIABLE_LINE.match(lines[above]):
            above -= 1
        assert above >= 0 and re.match(r"^# [^-]", lines[above]), f"{name} has no comment"


def test_the_env_example_sets_production_mode_and_leaves_secrets_to_fill_in():
    active = {
        line.split("=", 1)[0]: line.split("=", 1)[1]
        for line in ENV_EXAMPLE.read_text().splitlines()
        if _VARIABLE_LINE.match(line) and not line.startswith("#")
    }
    assert active["DEBUG"] == "0"
    assert active["SECRET_KEY"] == "" and active["FIELD_ENCRYPTION_KEY"] == ""
    assert active["SECURE_PROXY_SSL_HEADER"] == "1"
    assert active["DATABASE_URL"].startswith("mysql://")
    assert active["CELERY_BROKER_URL"].startswith("redis://")
    assert active["CACHE_URL"].startswith("redis://")


@pytest.mark.parametrize("name", UNITS)
def test_each_unit_runs_a_shipped_program_with_the_env_file(name):
    unit = parse_unit(unit_path(name).read_text())
    service = unit["Service"]
    assert service["EnvironmentFile"] == [ENV_FILE]
    assert service["WorkingDirectory"] == [INSTALL_DIR]
    assert service["User"] == ["portal"] and service["Group"] == ["portal"]
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]
    for key in ("ExecStart", "ExecReload"):
        if key in service:
            program = unit_command(name, key)[0]
            assert os.access(program, os.X_OK), f"{name} {key}: {program} is not executable"
    # Every file a command names inside the code's directory exists in this checkout.
    for word in unit_command(name):
        if word.startswith(str(ROOT)):
            assert os.path.exists(word), word
    # The README installs it, and installs the env file where the unit reads it.
    production = readme_section("Production")
    assert f"deploy/systemd/{name}.service" in production
    assert f"deploy/portal.env.example {ENV_FILE}" in production
    assert f"git clone <this repository> {INSTALL_DIR}" in production


def test_the_units_pass_systemd_analyze_verify(tmp_path):
    env_file = tmp_path / "portal.env"
    env_file.write_text(ENV_EXAMPLE.read_text())
    paths = []
    for name in UNITS:
        path = tmp_path / f"{name}.service"
        path.write_text(installed(unit_path(name).read_text(), env_file=env_file))
        paths.append(str(path))
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", "--man=no", *paths],
        capture_output=True,
        text=True,
        timeout=120,
    )
    # verify only warns about unknown keys or bad values: any output is a finding.
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_systemd_analyze_verify_would_catch_a_missing_program(tmp_path):
    path = tmp_path / "portal-web.service"
    path.write_text(installed(unit_path("portal-web").read_text(), root=tmp_path / "nowhere"))
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", "--man=no", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0 and "is not executable" in result.stderr


def gunicorn_config(env: dict[str, str], var_dir) -> dict[str, str]:
    # --print-config loads the application too: the embedded default's settings do.
    env = {"DEBUG": "1", "PORTAL_VAR_DIR": str(var_dir), **env}
    result = subprocess.run(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "--print-config",
            "-c",
            str(DEPLOY / "gunicorn.conf.py"),
        ],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return dict(
        (key.strip(), value.strip())
        for key, _, value in (line.partition("=") for line in result.stdout.splitlines())
    )


def test_gunicorn_reads_its_config_workers_from_the_cpu_count(tmp_path):
    config = gunicorn_config({}, tmp_path)
    assert config["wsgi_app"] == "portal.wsgi:application"
    assert config["bind"] == "['127.0.0.1:8000']"
    assert config["workers"] == str(2 * len(os.sched_getaffinity(0)) + 1)
    assert config["accesslog"] == "-"
    assert config["timeout"] == "60"
    config = gunicorn_config(
        {"GUNICORN_WORKERS": "3", "GUNICORN_BIND": "127.0.0.1:9001", "GUNICORN_TIMEOUT": "20"},
        tmp_path,
    )
    assert (config["workers"], config["bind"], config["timeout"]) == (
        "3",
        "['127.0.0.1:9001']",
        "20",
    )


def test_apache_accepts_the_shipped_site_as_the_readme_installs_it(tmp_path):
    confdir = apache_confdir(tmp_path, SITE.read_text())
    result = apache2ctl(confdir, "-t")
    assert result.returncode == 0 and "Syntax OK" in result.stderr, result.stderr
    hosts = apache2ctl(confdir, "-S").stdout
    assert re.search(r"\*:443\s+portal\.example\.com", hosts), hosts
    assert re.search(r"\*:80\s+portal\.example\.com", hosts), hosts
    # And it really reads the site: a certificate that is not there is refused.
    broken = apache_confdir(tmp_path / "broken", site_with({"PORTAL_CERT": "/nonexistent.pem"}))
    assert apache2ctl(broken, "-t").returncode != 0


def test_the_site_proxies_everything_and_serves_no_file():
    directives = [
        line.strip().split()[0]
        for line in SITE.read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    for serving in ("DocumentRoot", "Alias", "ScriptAlias", "SetHandler", "Directory"):
        assert serving not in directives and f"<{serving}" not in directives
    text = SITE.read_text()
    assert re.search(r"^\s*ProxyPass / \$\{PORTAL_UPSTREAM\}$", text, flags=re.M)
    assert re.search(r'^\s*RequestHeader set X-Forwarded-Proto "https"$', text, flags=re.M)


def test_manage_sh_runs_manage_py_with_the_env_file(tmp_path):
    env_file = tmp_path / "portal.env"
    env_file.write_text("DEBUG=1\nTIME_ZONE=Atlantic/Canary\n")
    result = subprocess.run(
        [
            str(DEPLOY / "manage.sh"),
            "shell",
            "-c",
            "from django.conf import settings; print(settings.TIME_ZONE)",
        ],
        env={
            "PATH": os.environ["PATH"],
            "PORTAL_ENV_FILE": str(env_file),
            "PORTAL_VAR_DIR": str(tmp_path / "var"),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "Atlantic/Canary"


IMPORTS_OF_THE_UNITS = """
import importlib, json, re, sys
from importlib.metadata import packages_distributions

# As on a host with base.lock only: a package of any other distribution is not there.
allowed = set(json.loads(sys.argv[1]))
owners = packages_distributions()


class OnlyTheProductionLock:
    def find_spec(self, name, path=None, target=None):
        dists = owners.get(name.partition(".")[0], [])
        if dists and not {re.sub(r"[-_.]+", "-", d).lower() for d in dists} & allowed:
            raise ModuleNotFoundError(f"No module named {name!r} (not in base.lock)", name=name)


sys.meta_path.insert(0, OnlyTheProductionLock())
import django
django.setup()
import portal.wsgi, portal.broker, portal.celery
for name in ("kombu.transport.redis", "celery.apps.worker", "celery.apps.beat", "celery.beat",
             "gunicorn.app.wsgiapp", "gunicorn.workers.gthread", "whitenoise.middleware",
             "whitenoise.storage", "pymysql", "redis"):
    importlib.import_module(name)
import django.urls
django.urls.get_resolver().url_patterns  # every app's views, forms, services, tasks
print("imported", len(sys.modules))
"""


def locked_distributions() -> set[str]:
    text = (ROOT / "requirements/base.lock").read_text()
    names = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", text, flags=re.M)
    return {re.sub(r"[-_.]+", "-", name).lower() for name in names}


def test_what_the_units_import_is_installed_by_the_production_lock(tmp_path):
    # A production host installs requirements/base.lock only (scripts/_venv.sh base); the test
    # venv has the dev lock, whose extra packages once hid a missing one (kombu's Redis
    # transport imports packaging). Here the packages of the dev lock alone cannot be imported.
    result = subprocess.run(
        [
            str(ROOT / ".venv/bin/python"),
            "-c",
            IMPORTS_OF_THE_UNITS,
            json.dumps(sorted(locked_distributions())),
        ],
        cwd=ROOT,
        env={
            "PATH": os.environ["PATH"],
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DEBUG": "0",
            "SECRET_KEY": "x" * 50,
            "PORTAL_VAR_DIR": str(tmp_path),
            "CELERY_BROKER_URL": "redis://127.0.0.1:1/0",
            "CACHE_URL": "redis://127.0.0.1:1/1",
            "DATABASE_URL": "mysql://portal:x@127.0.0.1:1/portal",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "imported" in result.stdout
