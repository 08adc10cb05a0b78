"""A production host on loopback, started from deploy/ as the README installs it, used by
Chromium as an administrator would.

The three units' ExecStart commands (gunicorn with deploy/gunicorn.conf.py and 2 workers, DEBUG
off; a Celery worker; Celery beat) run with an environment file written from
deploy/portal.env.example, against this suite's MariaDB database and private Redis servers (the
broker, which the test stops and starts again, and the cache). Debian's apache2 runs the site of
deploy/apache/ with a self-signed certificate, in a copy of /etc/apache2 with its own Listen,
run, lock and log directories. deploy/manage.sh collects the static files and creates the first
administrator. Then:

- Chromium logs in through Apache over HTTPS, as portal.example.com; every asset of the login
  page and of the dashboard answers 200 with a hashed name and a one-year immutable cache
  header; on every page of the menu no request fails and both stylesheets apply;
- a user's pool changes in the browser; the push it asks for waits in Redis while the worker
  takes nothing from the queue, then the real worker writes the files of a local node and the
  push page, still the same page, shows it applied;
- /healthz is 200; with the broker's Redis stopped it answers 503 naming broker within 2 s
  while the pages still answer 200; with Redis back, 200;
- Apache answers for nothing but the portal, and sends plain HTTP to HTTPS.
"""

import json
import os
import re
import secrets
import subprocess
import time

import pyotp
import pytest
from django.conf import settings
from playwright.sync_api import expect

from licensing.models import LicenseStock
from nodes.models import Node, Push
from tests.deploy.deployment import (
    APACHE2,
    ROOT,
    SERVER_NAME,
    Processes,
    apache_confdir,
    http_get,
    https_get,
    read_env_file,
    self_signed_certificate,
    site_with,
    unit_command,
    wait_for,
    write_env_file,
)
from tests.e2e.conftest import SCREENSHOTS
from tests.factories import NodeFactory, PoolFactory, PortalUserFactory, WebfonExtensionFactory
from tests.integration.redis_server import start_redis_server
from tests.integration.ssh_server import free_port

pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ADMIN, ADMIN_PASSWORD = "jefa", secrets.token_urlsafe(16)
NAVBAR_DARK = "rgb(33, 37, 41)"  # Bootstrap's .bg-dark: bootstrap.min.css applied
BRAND_WEIGHT = "300"  # .navbar-brand small: portal.css applied
HASHED_ASSET = re.compile(r"/static/.+\.[0-9a-f]{12}\.(css|js|svg)$")
IMMUTABLE = "max-age=315360000, public, immutable"


def log_in(page, base_url: str, username: str, password: str) -> None:
    """The staff login as a person does it (the one step to adapt when the login changes).

    The first administrator has no second factor yet and must have one: after the password the
    portal shows only the enrolment, done here as with a phone app (pyotp from the secret shown),
    then the recovery codes, then the dashboard."""
    page.goto(base_url + "/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.get_by_role("button", name="Entrar").click()
    expect(page.locator("#enrol-required")).to_be_visible()
    with page.expect_navigation():
        page.get_by_role("button", name="Añadir app TOTP").click()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.fill("#id_code", pyotp.TOTP(secret).now())
    with page.expect_navigation():
        page.get_by_role("button", name="Confirmar app").click()
    expect(page.locator(".recovery-code")).to_have_count(10)
    with page.expect_navigation():
        page.locator("#recovery-codes").get_by_role("link", name="Continuar").click()
    expect(page.locator("#menu")).to_contain_text(username)


class Host:
    """The processes of one production host, and how to reach it."""

    def __init__(self, tmp_path, processes: Processes, broker, cache):
        self.tmp = tmp_path
        self.processes = processes
        self.broker = broker
        self.https_port, self.http_port, self.gunicorn_port = free_port(), free_port(), free_port()
        self.nodes_dir = tmp_path / "nodes"
        self.nodes_dir.mkdir()
        self.cert, self.key = self_signed_certificate(tmp_path)
        db = settings.DATABASES["default"]
        server = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 3306}"
        self.env_file = write_env_file(
            tmp_path / "portal.env",
            {
                "SECRET_KEY": settings.SECRET_KEY,  # the test process wrote encrypted fields
                "FIELD_ENCRYPTION_KEY": settings.FIELD_ENCRYPTION_KEY,
                # This suite's database, which the test process fills.
                "DATABASE_URL": f"mysql://{db['USER']}:{db['PASSWORD']}@{server}/{db['NAME']}",
                "CELERY_BROKER_URL": broker.url,
                "CACHE_URL": cache.url,
                "ALLOWED_HOSTS": SERVER_NAME,
                "PORTAL_VAR_DIR": str(tmp_path / "var"),
                "WEBFON_AUTH_LOG": str(tmp_path / "log" / "serCen.log"),
                "LOCAL_NODES_DIR": str(self.nodes_dir),
                "GUNICORN_BIND": f"127.0.0.1:{self.gunicorn_port}",
                "GUNICORN_WORKERS": "2",
                "CELERY_WORKER_CONCURRENCY": "1",
                "PUSH_SWEEP_SECONDS": "2",  # so beat's sends show within the test
            },
        )
        # What systemd gives a unit: its EnvironmentFile, not the caller's environment.
        self.env = {
            "PATH": os.environ["PATH"],
            "LANG": "C.UTF-8",
            **read_env_file(self.env_file),
        }

    @property
    def url(self) -> str:
        return f"https://{SERVER_NAME}:{self.https_port}"

    def manage(self, *args: str, stdin: str = "") -> str:
        """deploy/manage.sh as the README runs it (with the env file)."""
        result = subprocess.run(
            [str(ROOT / "deploy" / "manage.sh"), *args],
            env={"PATH": os.environ["PATH"], "PORTAL_ENV_FILE": str(self.env_file)},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def start_units(self) -> None:
        self.web = self.processes.start("portal-web", unit_command("portal-web"), self.env)
        self.worker = self.processes.start("portal-worker", unit_command("portal-worker"), self.env)
        self.beat = self.processes.start("portal-beat", unit_command("portal-beat"), self.env)
        wait_for(
            lambda: http_get(self.gunicorn_port, "/healthz").status == 200,
            timeout=120,
            what=f"gunicorn to answer:\n{self.web.text()}",
        )
        wait_for(lambda: " ready." in self.worker.text(), 120, "the worker to be ready")
        wait_for(lambda: "beat: Starting" in self.beat.text(), 60, "beat to start")

    def start_apache(self) -> None:
        site = site_with(
            {
                "PORTAL_NAME": SERVER_NAME,
                "PORTAL_HTTPS_PORT": str(self.https_port),
                "PORTAL_HTTP_PORT": str(self.http_port),
                "PORTAL_UPSTREAM": f"http://127.0.0.1:{self.gunicorn_port}/",
                "PORTAL_CERT": str(self.cert),
                "PORTAL_KEY": str(self.key),
            }
        )
        listen = [f"127.0.0.1:{self.https_port}", f"127.0.0.1:{self.http_port}"]
        confdir = apache_confdir(self.tmp / "apache", site, listen)
        self.apache = self.processes.start(
            "apache2",
            ["/bin/sh", "-c", f'. ./envvars && exec {APACHE2} -d "$PWD" -DFOREGROUND'],
            {"PATH": os.environ["PATH"], "APACHE_CONFDIR": str(confdir)},
            cwd=confdir,
        )
        wait_for(
            lambda: self.healthz().status == 200,
            timeout=60,
            what=f"Apache to answer:\n{self.apache.text()}",
        )

    def worker_consumes(self, consume: bool) -> None:
        """`celery control`, as an operator uses it: the worker stops taking tasks from the
        queue (what it runs goes on; what is queued waits in Redis), or takes them again."""
        command = "add_consumer" if consume else "cancel_consumer"
        result = subprocess.run(
            [
                str(ROOT / ".venv/bin/celery"),
                "--app",
                "portal",
                "control",
                "-t",
                "10",
                command,
                "celery",
            ],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0 and "OK" in result.stdout, result.stdout + result.stderr

    def healthz(self):
        return https_get(self.https_port, "/healthz", cafile=self.cert)


@pytest.fixture
def host(tmp_path):
    processes = Processes(tmp_path)
    broker, cache = start_redis_server(), start_redis_server()
    try:
        yield Host(tmp_path, processes, broker, cache)
    finally:
        processes.stop_all()
        broker.cleanup()
        cache.cleanup()


@pytest.fixture
def installation():
    """What the administrator will edit: a WebRTC node of transport local, under the allowed
    base directory, and a user who gets a pool."""
    LicenseStock.objects.update_or_create(id=1, defaults={"stock": 1000})
    corporate = NodeFactory(name="VC-corp-zonaejemplo")
    pool = PoolFactory(name="Pool soporte", base_extension=WebfonExtensionFactory(node=corporate))
    WebfonExtensionFactory(node=corporate, pool=pool)
    user = PortalUserFactory(account="lperez", name="Luis Pérez")
    return corporate, pool, user


def node_under(host: Host, corporate: Node) -> Node:
    return NodeFactory(
        name="vivait-meet",
        kind=Node.Kind.WEBRTC,
        transport=Node.Transport.LOCAL,
        local_root=str(host.nodes_dir / "vivait-meet"),
        domain="labmeet.mdnova.local",
        local_ip="10.10.0.31",
        corporate_node=corporate,
        sercen_restart_command="",
        sercen_status_command="",
        janus_restart_command="",
        janus_status_command="",
        fail2ban_restart_command="",
        fail2ban_status_command="",
    )


class NetworkLog:
    """Every answer and failed request of a browser page."""

    def __init__(self, page):
        self.answers: list[tuple[int, str, dict]] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        page.on("response", lambda r: self.answers.append((r.status, r.url, r.headers)))
        page.on("requestfailed", self._failed)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _failed(self, request) -> None:
        # A request the browser itself abandoned when the test navigated on (the favicon of
        # a page left at once) is not a failure of the host.
        if request.failure != "net::ERR_ABORTED":
            self.failed.append(f"{request.url} {request.failure}")

    def problems(self) -> list[str]:
        bad = [f"{status} {url}" for status, url, _ in self.answers if status >= 400]
        return bad + self.failed + self.errors

    def assets_since(self, start: int) -> list[tuple[int, str, dict]]:
        return [a for a in self.answers[start:] if "/static/" in a[1]]


def assert_styled(page) -> None:
    assert page.locator("nav.navbar").evaluate("e => getComputedStyle(e).backgroundColor") == (
        NAVBAR_DARK
    )
    assert page.locator(".navbar-brand small").evaluate("e => getComputedStyle(e).fontWeight") == (
        BRAND_WEIGHT
    )


def assert_assets_cached(assets) -> None:
    assert {url.rsplit("/", 1)[-1].split(".")[0] for _, url, _ in assets} >= {
        "bootstrap",
        "portal",
    }
    for status, url, headers in assets:
        assert status == 200, url
        assert HASHED_ASSET.search(url), url
        assert headers.get("cache-control") == IMMUTABLE, (url, headers)


def shot(page, label: str) -> None:
    """A screenshot under var/screenshots/ (a CI artifact, as the browser tests leave)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"production-{label}.png"), full_page=True)


def menu_pages(page) -> list[str]:
    links = page.locator("#menu a[href]").evaluate_all(
        "els => els.map(e => e.getAttribute('href'))"
    )
    return ["/", *[href for href in links if href.startswith("/")]]


def test_production_host_through_apache(host, installation, browser):
    corporate, _pool, user = installation
    node = node_under(host, corporate)
    host.manage("migrate", "--noinput")  # nothing to do: the tables are this suite's
    host.manage("collectstatic", "--noinput")
    created = host.manage("create_staff", ADMIN, stdin=ADMIN_PASSWORD + "\n")
    assert ADMIN_PASSWORD not in created
    host.start_units()
    host.start_apache()

    context = browser.new_context(
        ignore_https_errors=True,  # the certificate is self-signed; the test's client checks it
        viewport={"width": 1280, "height": 900},
        locale="es-ES",
    )
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        expect.set_options(timeout=20_000)
        network = NetworkLog(page)

        # Log in over HTTPS through Apache: the login page's and the dashboard's assets.
        log_in(page, host.url, ADMIN, ADMIN_PASSWORD)
        assert page.url == host.url + "/"
        expect(page.locator("h1")).to_contain_text("Resumen de la instalación")
        assets = network.assets_since(0)
        assert_assets_cached(assets)
        assert len(assets) >= 6  # 2 stylesheets + 1 script, on both pages
        # Compressed by the portal itself (Apache's mod_deflate could do it too: ask gunicorn).
        for _, url, _ in assets:
            path = url.split(str(host.https_port), 1)[1]
            asset = http_get(
                host.gunicorn_port,
                path,
                headers={"Accept-Encoding": "gzip", "X-Forwarded-Proto": "https"},  # as Apache
            )
            assert asset.status == 200 and asset.headers["Content-Encoding"] == "gzip", path
            assert asset.headers["Cache-Control"] == IMMUTABLE, path

        # Every page of the menu: answered, styled, nothing failing.
        pages = menu_pages(page)
        assert len(pages) >= 12, pages
        for number, path in enumerate(pages):
            response = page.goto(host.url + path)
            assert response.status == 200, path
            assert_styled(page)
            shot(page, f"{number:02d}{path.replace('/', '-').rstrip('-')}")
        assert network.problems() == []

        # A user's pool changes: one push, run by the real worker (which takes it only once the
        # page shows it waiting), to the local node; the page follows it without a reload.
        host.worker_consumes(False)
        page.goto(f"{host.url}/usuarios/{user.pk}/")
        page.click("#tab-centralita")
        page.select_option("#id_pool", label="Pool soporte")
        with page.expect_navigation():
            page.locator("main").get_by_role("button", name="Guardar", exact=True).click()
        expect(page.locator("main .alert-success")).to_contain_text("guardado")
        push = Push.objects.filter(node=node).latest("pk")
        page.locator("#menu").get_by_role("link", name="Envíos", exact=True).click()
        page.wait_for_url("**/nodos/envios/")
        with page.expect_navigation():
            page.get_by_role("link", name=str(push.pk), exact=True).click()
        progress = page.locator(f"#push-progress-{push.pk}")
        expect(progress).to_have_attribute("data-status", "pending")
        page.evaluate("window.samePage = true")
        host.worker_consumes(True)
        expect(progress).to_have_attribute("data-status", "applied", timeout=60_000)
        expect(progress).to_contain_text("Aplicado")
        assert page.evaluate("window.samePage") is True
        shot(page, "push-applied")
        plugin = host.nodes_dir / "vivait-meet/etc/janus/vivait.plugin.webfon.jcfg"
        assert re.search(r"colas_limpiar_siempre\s*=\s*true", plugin.read_text())
        assert "Task nodes.push_node[" in host.worker.text()
        wait_for(lambda: "nodes.push_sweep" in host.worker.text(), 30, "beat's sweep to run")
        assert network.problems() == []

        # Health, then the broker's Redis stops: 503 naming broker, fast; pages still work.
        healthy = host.healthz()
        assert (healthy.status, healthy.json()) == (
            200,
            {"status": "ok", "checks": {"database": "ok", "cache": "ok", "broker": "ok"}},
        )
        host.broker.kill()
        started = time.monotonic()
        sick = host.healthz()
        elapsed = time.monotonic() - started
        assert sick.status == 503 and elapsed < 2, (sick.status, elapsed)
        assert sick.json() == {
            "status": "fail",
            "checks": {"database": "ok", "cache": "ok", "broker": "fail"},
        }
        assert str(host.broker.port) not in sick.body.decode()
        wait_for(lambda: "health.check_failed check=broker" in host.web.text(), 10, "the log")
        for path in pages:
            assert page.goto(host.url + path).status == 200, path
        host.broker.start()
        wait_for(lambda: host.healthz().status == 200, 10, "/healthz to recover")
        assert network.problems() == []
    finally:
        expect.set_options(timeout=None)
        context.close()

    # Apache answers for the portal only: its own files and pages are not reachable, every
    # path reaches Django (404 with Django's headers); plain HTTP goes to HTTPS.
    for path in ("/icons/apache_pb.png", "/server-status", "/index.html"):
        answer = https_get(host.https_port, path, cafile=host.cert)
        assert answer.status == 404, path
        assert answer.headers["Referrer-Policy"] == "same-origin", path
        assert b"Apache" not in answer.body, path
    redirect = http_get(host.http_port, "/usuarios/")
    assert (redirect.status, redirect.headers["Location"]) == (
        301,
        f"https://{SERVER_NAME}/usuarios/",
    )
    access_log = (host.tmp / "apache" / "log" / "portal-access.log").read_text()
    assert "GET /healthz" in access_log
    assert json.loads(http_get(host.gunicorn_port, "/healthz").body)["status"] == "ok"
