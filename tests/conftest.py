import datetime
import logging
import time
import uuid

import pytest
from django.core.servers.basehttp import WSGIServer
from django.db import connection, connections
from django.test import Client
from django.test.client import ClientMixin
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp_webauthn.models import WebAuthnCredential
from playwright.sync_api import sync_playwright
from rest_framework.test import APIClient

from accounts.models import StaffTotpDevice
from accounts.sudo import SUDO_SESSION_KEY
from core.actors import Actor
from core.roles import ROLE_ADMIN
from licensing.models import LicenseStock
from portal.celery import app
from portal.services import api_token_create
from tests.celery_worker import Worker
from tests.factories import (
    NodeFactory,
    PoolFactory,
    StaffUserFactory,
    WebfonExtensionFactory,
    WebfonSessionFactory,
)
from tests.hashers import RecordingHasher
from tests.pki import new_pki
from tests.webfon.smtp_server import start_smtp_server
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


@pytest.fixture(scope="session", autouse=True)
def _force_login_gives_the_second_factor():
    """``Client.force_login`` skips the password; here it skips the second factor too, as if
    the account had just given it with its first device (and so confirmed itself: sudo mode).
    The login flow itself is tested through the login pages (tests/accounts, tests/e2e)."""
    original = ClientMixin.force_login

    def force_login(self, user, backend=None):
        original(self, user, backend)
        device = (
            StaffTotpDevice.objects.filter(user=user, confirmed=True).order_by("id").first()
            or WebAuthnCredential.objects.filter(user=user, confirmed=True).first()
        )
        session = self.session
        if device is not None:
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session[SUDO_SESSION_KEY] = time.time()
        session.save()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ClientMixin, "force_login", force_login)
        yield


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
def pki(tmp_path, settings):
    """A root CA (trusted through ``NODE_CERTIFICATE_ROOTS``, as an installer's private CA
    would be), an intermediate under it, and ``pki.server(names…)`` for leaves."""
    made = new_pki()
    roots = tmp_path / "roots.pem"
    roots.write_text(made.roots_pem)
    settings.NODE_CERTIFICATE_ROOTS = str(roots)
    return made


@pytest.fixture
def store_certificate(actor):
    """Upload ``issued`` (tests/pki.py) as ``node``'s certificate through the service, chain
    joined to the certificate as a fullchain.pem; ``paths`` are the service's own."""
    from nodes.services import node_certificate_upload

    def _store(node, issued, **paths):
        return node_certificate_upload(
            actor=actor,
            node=node,
            certificate_pem=issued.pem + issued.chain_pem,
            private_key_pem=issued.key_pem,
            **paths,
        )

    return _store


@pytest.fixture
def local_nodes_dir(settings, tmp_path):
    """The test's tmp_path as LOCAL_NODES_DIR: local nodes may have their directory in it."""
    settings.LOCAL_NODES_DIR = str(tmp_path)
    return tmp_path


@pytest.fixture
def corporate(db):
    return NodeFactory(name="VC-corp-zonaejemplo")


@pytest.fixture
def webrtc_fields(corporate):
    """What a WebRTC node needs besides its name to be saved: every push needs them."""
    return {"domain": "meet.vivait.example", "local_ip": "192.0.2.31", "corporate_node": corporate}


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's deliberate slowness adds ~0.3 s per password set; tests only need *a* hash.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def portal_mailbox(settings):
    """A real SMTP server on loopback (aiosmtpd) set as the portal's own mail server (the
    staff password reset); ``.port`` is its port, for a worker's settings."""
    controller, box = start_smtp_server()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.DEFAULT_FROM_EMAIL = "portal@example.com"
    box.port = controller.port
    yield box
    controller.stop()


@pytest.fixture
def recording_hasher(settings):
    """The password hasher becomes tests.hashers.RecordingHasher (counts and threads)."""
    RecordingHasher.reset()
    settings.PASSWORD_HASHERS = ["tests.hashers.RecordingHasher"]
    yield RecordingHasher
    RecordingHasher.reset()


@pytest.fixture
def browser_for(db):
    """A browser client (django.test.Client) logged in as a new staff account of ``role``
    (password and second factor given, as force_login does above)."""

    def _client(role: str = ROLE_ADMIN, *, csrf: bool = False) -> Client:
        client = Client(enforce_csrf_checks=csrf)
        client.force_login(StaffUserFactory(role=role))
        return client

    return _client


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
def busy_pool(db):
    """A pool named ``name`` of ``size`` members, ``busy`` of them held by a session in force."""

    def _pool(name: str, size: int, busy: int):
        pool = PoolFactory(name=name)
        now = timezone.now()
        members = [
            WebfonExtensionFactory(pool=pool, node=pool.base_extension.node) for _ in range(size)
        ]
        for member in members[:busy]:
            WebfonSessionFactory(
                pool=pool,
                pool_extension=member,
                extension=member,
                started_at=now,
                expires_at=now + datetime.timedelta(hours=1),
                state="active",
            )
        return pool

    return _pool


@pytest.fixture
def make_webrtc_node(actor, webrtc_fields, django_capture_on_commit_callbacks):
    """A WebRTC node made through node_create, as a user's entry would (its secrets bound to
    the destinations it is created with), with no push left queued by its creation (unless
    ``keep_pushes``: the creation's push stays, never dispatched)."""
    from nodes.models import Push
    from nodes.services import node_create

    def _make(*, keep_pushes: bool = False, **fields):
        defaults = {"name": "meet", "kind": "webrtc", **webrtc_fields}
        with django_capture_on_commit_callbacks(execute=False):
            node = node_create(actor=actor, **(defaults | fields))
        if not keep_pushes:
            Push.objects.filter(node=node).delete()
        return node

    return _make


@pytest.fixture
def local_webrtc_node(tmp_path, local_nodes_dir, make_webrtc_node):
    """A WebRTC node with the local transport, made through node_create, whose files live in a
    fake node's tree at tmp_path/"node" (tests/nodes/fake_node.py: its init.d scripts record
    the restarts). Fields given override the defaults; no push is left queued (unless
    ``keep_pushes``)."""
    from tests.nodes.fake_node import make_fake_node

    def _make(*, keep_pushes: bool = False, **fields):
        root = make_fake_node(tmp_path / "node")
        defaults = {
            "domain": "labmeet.mdnova.local",
            "local_ip": "10.10.0.31",
            "transport": "local",
            "local_root": str(root),
            "janus_restart_command": "/etc/init.d/janus restart",
            "janus_status_command": "/etc/init.d/janus status",
            "sercen_restart_command": "/etc/init.d/serCen restart",
            "sercen_status_command": "/etc/init.d/serCen status",
        }
        return make_webrtc_node(keep_pushes=keep_pushes, **(defaults | fields))

    return _make


@pytest.fixture
def node_form_data(db):
    """What the node form posts for ``node`` with ``changes``: every field as the browser
    sends it (secrets empty, as the form never shows them)."""
    from nodes.forms import NodeForm
    from nodes.models import Node

    def _data(node, **changes) -> dict:
        form = NodeForm(instance=Node.objects.get(pk=node.pk))
        data = {}
        for name, field in form.fields.items():
            value = changes.get(name, form.initial.get(name, field.initial))
            if isinstance(value, bool):
                if value:
                    data[name] = "on"
                continue
            data[name] = "" if value is None else value
        return data

    return _data


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


@pytest.fixture
def celery_mode(settings):
    """Switch the Celery app between the embedded default (tasks run here) and a broker."""
    previous = app.conf.task_always_eager

    def _set(*, eager: bool) -> None:
        app.conf.task_always_eager = eager
        settings.CELERY_TASK_ALWAYS_EAGER = eager

    yield _set
    app.conf.task_always_eager = previous


@pytest.fixture
def queue():
    """A Celery queue of this test's own: the tasks it sends wait there for its ``worker``."""
    name = f"test-{uuid.uuid4().hex[:8]}"
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = name
    yield name
    app.conf.task_default_queue = previous


@pytest.fixture
def worker(queue, tmp_path):
    """Start a real `celery worker` on the test's queue and database (tests marked "broker",
    with ``django_db(transaction=True)``); ``worker(env={...})`` overrides its settings.
    Stopped after the test."""
    workers = []

    def start(**options) -> Worker:
        started = Worker(queue, tmp_path / f"worker{len(workers) + 1}.log", **options)
        workers.append(started)
        return started

    yield start
    for started in workers:
        started.stop()


@pytest.fixture
def row_lock():
    """``row_lock(instance)`` locks that row (SELECT ... FOR UPDATE, MariaDB) from a connection
    of the test's own until ``row_lock.release()``, as another writer would: a worker's job
    that reaches the row waits there, its earlier rows done, without timing anything."""
    side = connections.create_connection("default")

    class Lock:
        def __call__(self, instance) -> None:
            table = connection.ops.quote_name(instance._meta.db_table)
            side.set_autocommit(False)
            with side.cursor() as cursor:
                cursor.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR UPDATE", [instance.pk])  # noqa: S608
                assert cursor.fetchone(), f"no row {instance!r} to lock"

        def release(self) -> None:
            side.rollback()
            side.set_autocommit(True)

    yield Lock()
    side.close()
