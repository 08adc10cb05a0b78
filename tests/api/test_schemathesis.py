"""Property-based test of the whole REST API v1 against its own OpenAPI schema.

Schemathesis loads ``/api/v1/schema/`` from the running app (in-process, through WSGI) and,
for every operation and method it describes, sends generated requests with an
administrator's token: valid ones, invalid ones and the boundary cases of its "coverage"
phase. Every response must

- not be a server error (5xx),
- have a status code the schema documents for the operation,
- have a content type the schema documents for that status code,
- match the schema of that response.

The database holds the demo installation (``seed_demo``) plus a few spare rows (webfon
sessions active and ended, pushes), and generated integer ``id`` path parameters are mostly
mapped to rows that exist, so detail, update, delete and action endpoints are exercised past
their 404. Each request runs inside a savepoint that is rolled back afterwards: every example
sees the same seeded data, whatever the order of operations, nothing is ever committed (so no
push to a node is dispatched), and the run is reproducible (fixed seed, derandomized
Hypothesis).

Nothing leaves the machine: every node, SMTP and LDAP server of the seeded data points at a
closed port on loopback, an LDAP test's generated server is rewritten to it, and a guard on
the process's sockets refuses (and fails the case for) any connection or name lookup to
another address, so an operation that would reach out elsewhere cannot go unnoticed.

Per operation: MAX_EXAMPLES fuzzed cases (positive and negative) and one in COVERAGE_EVERY
of the coverage phase's cases (all its undocumented-method and content-type probes);
``SCHEMATHESIS_COVERAGE_EVERY=1`` runs the whole coverage phase (several minutes).

A failure names the operation and prints a curl command of the request; for a 500 the
server-side traceback is in the captured log (django.request) of the failed test.

The schema is loaded when the module is imported (one pytest item per operation, e.g.
``test_api_conforms_to_its_schema[POST /api/v1/pools/{id}/range/]``): the lazy
``schemathesis.pytest.from_fixture`` loader does not work with pytest 9.2 (it sets
``request.node._nodeid``, which pytest no longer has).
"""

import datetime
import io
import ipaddress
import json
import os
import re
import socket
from collections import Counter

import hypothesis
import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection, transaction
from django.test import override_settings
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck
from schemathesis.generation.meta import REQUEST_SHAPE_PROBES, TestPhase

from core.actors import Actor
from core.roles import ROLE_ADMIN
from extensions.models import Extension, ExtensionPool, Template
from extensions.services import template_create
from nodes.models import Node, Push, hostname_validator
from portal.services import api_token_create
from portal.wsgi import application
from tests.factories import (
    ExemptNetworkFactory,
    NodeFactory,
    PoolFactory,
    PortalUserFactory,
    StaffUserFactory,
)
from tests.integration.ldap_server import free_port
from users.models import LdapSettings, PortalUser, SecondFactorExemptNetwork
from webfon.models import WebfonSession

# The mark makes pytest-django create the test database (it only does for marked tests);
# the data itself is loaded once for the module, see ``seeded_api``.
pytestmark = pytest.mark.django_db

SCHEMA_PATH = "/api/v1/schema/?format=json"
# Fuzzed examples per operation (the "examples" and "coverage" phases add their own cases).
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"))
SEED = 20_250_601
# The coverage phase's cases that run: one in COVERAGE_EVERY per operation (1 = all of them).
COVERAGE_EVERY = int(os.environ.get("SCHEMATHESIS_COVERAGE_EVERY", "8"))
COVERAGE_SEEN: Counter[str] = Counter()

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]

# Path prefix under /api/v1/ -> model whose rows the ``{id}`` parameter names.
ID_MODELS = {
    "extensions": Extension,
    "pools": ExtensionPool,
    "templates": Template,
    "nodes": Node,
    "users": PortalUser,
    "exempt-networks": SecondFactorExemptNetwork,
    "pushes": Push,
    "webfon": WebfonSession,
}
# The database of the settings, before pytest-django switches to the test database.
CONFIGURED_DATABASE_NAME = connection.settings_dict["NAME"]
# Ids of existing rows, per path prefix; filled by the fixture once the data is seeded.
EXISTING_IDS: dict[str, list[int]] = {}
# Where every server of the seeded data points: nothing listens there.
CLOSED_PORT = free_port()
CLOSED_LDAP = f"ldap://127.0.0.1:{CLOSED_PORT}"


def _seed_data() -> None:
    call_command("seed_demo", stdout=io.StringIO())
    actor = Actor.system("tests")
    # Rows nothing depends on, so deletes and edits can succeed, not only answer 409.
    NodeFactory(name="nodo-libre")
    PortalUserFactory(account="usuario-libre", name="Usuario libre")
    ExemptNetworkFactory(network="192.168.50.0/24", description="Oficina")
    template_create(actor=actor, name="Plantilla libre", value="nat=yes")
    PoolFactory(name="Pool libre")
    _seed_sessions()
    Push.objects.create(node=Node.objects.filter(kind="webrtc").first(), reasons=["test"])
    # Every server the seeded data names is a closed port on loopback.
    Node.objects.update(
        address="127.0.0.1",
        ssh_host="",
        ssh_port=CLOSED_PORT,
        smtp_host="127.0.0.1",
        smtp_port=CLOSED_PORT,
    )
    LdapSettings.objects.filter(server_uri__gt="").update(server_uri=CLOSED_LDAP)
    for prefix, model in ID_MODELS.items():
        ids = sorted(model.objects.values_list("pk", flat=True))
        # A handful per model is enough: the first, the last and a few in between.
        EXISTING_IDS[prefix] = sorted({*ids[:2], *ids[-2:], *ids[:: max(1, len(ids) // 4)]})


def _seed_sessions() -> None:
    """Sessions in force and ended, so the sessions list shows both kinds."""
    now = timezone.now()
    users = PortalUser.objects.filter(webfon_extension__isnull=False).order_by("pk")[:3]
    for n, user in enumerate(users):
        WebfonSession.objects.create(
            user=user,
            token_digest=f"{n:064x}",
            extension=user.webfon_extension,
            extension_number=user.webfon_extension.number,
            client_ip="203.0.113.7",
            started_at=now,
            expires_at=now + datetime.timedelta(hours=1),
            **({"state": "ended", "ended_at": now, "end_reason": "logout"} if n == 2 else {}),
        )


class LoopbackOnly:
    """Connections and name lookups of this process: to loopback (or a Unix socket) they go
    through; anything else is refused with OSError, as an unreachable host would be, and
    recorded so the case fails."""

    def __init__(self):
        self.refused: list[str] = []
        self._connect = socket.socket.connect
        self._connect_ex = socket.socket.connect_ex
        self._getaddrinfo = socket.getaddrinfo

    @staticmethod
    def loopback(host) -> bool:
        if isinstance(host, bytes):
            host = host.decode(errors="replace")
        if host in ("localhost", "localhost.localdomain"):
            return True
        try:
            return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
        except ValueError:
            return False

    def _check(self, address) -> None:
        if isinstance(address, tuple) and not self.loopback(address[0]):
            self.refused.append(str(address))
            raise ConnectionRefusedError(f"{address!r}: outside loopback, refused by the test")

    def install(self) -> None:
        guard = self

        def connect(sock, address):
            guard._check(address)
            return guard._connect(sock, address)

        def connect_ex(sock, address):
            guard._check(address)
            return guard._connect_ex(sock, address)

        def getaddrinfo(host, *args, **kwargs):
            if host is not None and not guard.loopback(host):
                guard.refused.append(f"lookup {host!r}")
                raise socket.gaierror(socket.EAI_NONAME, "outside loopback, refused by the test")
            return guard._getaddrinfo(host, *args, **kwargs)

        socket.socket.connect = connect
        socket.socket.connect_ex = connect_ex
        socket.getaddrinfo = getaddrinfo

    def uninstall(self) -> None:
        socket.socket.connect = self._connect
        socket.socket.connect_ex = self._connect_ex
        socket.getaddrinfo = self._getaddrinfo


def _ldap_test_on_loopback(case) -> None:
    """A generated LDAP server of POST /ldap/test/ is moved to the closed loopback port."""
    body = case.body
    if case.operation.path.endswith("/ldap/test/") and isinstance(body, dict):
        uri = body.get("server_uri")
        if isinstance(uri, str):
            body["server_uri"] = re.sub(r"^(ldaps?://)[^/]*", rf"\g<1>127.0.0.1:{CLOSED_PORT}", uri)


def _port_check_on_loopback(case) -> None:
    """A generated host of POST /nodes/{id}/port-check/ that the API would accept (a valid
    host name is looked up, then connected to) is moved to the closed loopback port; one it
    refuses stays, so the refusal is what is fuzzed."""
    body = case.body
    if not (case.operation.path.endswith("/port-check/") and isinstance(body, dict)):
        return
    host = body.get("host")
    if isinstance(host, str):
        try:
            hostname_validator(host)
        except ValidationError:
            return
        body["host"] = "127.0.0.1"
        port = body.get("port")
        if isinstance(port, int) and not isinstance(port, bool) and 1 <= port <= 65535:
            body["port"] = CLOSED_PORT  # a port it refuses stays too


def _use_existing_id(case) -> None:
    """Point a generated integer ``id`` at an existing row most of the time.

    Deterministic (it depends on the generated value only), so it applies to the coverage
    phase's cases as well; ids that are not integers (negative cases) are left alone.
    """
    value = (case.path_parameters or {}).get("id")
    # The fuzzing phase generates ints, the coverage phase strings ("0").
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,18}", value):
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        return
    ids = EXISTING_IDS.get(case.operation.path.removeprefix("/api/v1/").split("/", 1)[0])
    if ids:
        slot = number % (len(ids) + 1)  # one slot in len(ids) + 1 keeps the generated id
        if slot < len(ids):
            case.path_parameters["id"] = type(value)(ids[slot])


def _skip_coverage_case(case) -> bool:
    """Run one coverage-phase case in COVERAGE_EVERY per operation, and every request-shape
    probe (undocumented methods, bad content types): the phase makes thousands of cases for
    the large request bodies, too many for CI. Deterministic, like the rest of the run."""
    meta = case.meta
    if COVERAGE_EVERY <= 1 or meta is None or meta.phase.name != TestPhase.COVERAGE:
        return False
    if meta.phase.data.scenario in REQUEST_SHAPE_PROBES:
        return False
    seen = COVERAGE_SEEN[case.operation.label]
    COVERAGE_SEEN[case.operation.label] += 1
    return seen % COVERAGE_EVERY != 0


@pytest.fixture(scope="module")
def seeded_api(django_db_setup, django_db_blocker):
    """The seeded database and an administrator's token, for every operation of the module.

    The data is loaded once, inside a transaction rolled back when the module ends (a
    module-scoped equivalent of the ``db`` fixture), and each request runs in a savepoint
    of its own (see the test).

    The WSGI requests run on the test's own connection, inside that transaction; Django
    closes a connection that is not in autocommit mode when a request starts or ends, so
    those handlers are disconnected meanwhile, as django.test.Client does.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    # Schemathesis' WSGI client sends "Host: localhost".
    hosts = override_settings(ALLOWED_HOSTS=[*django_settings.ALLOWED_HOSTS, "localhost"])
    hosts.enable()
    guard = LoopbackOnly()
    guard.install()
    try:
        with django_db_blocker.unblock(), transaction.atomic():
            # Never the configured database: pytest-django switches to the test database
            # only when the session has tests marked django_db.
            assert connection.settings_dict["NAME"] != CONFIGURED_DATABASE_NAME
            _seed_data()
            user = StaffUserFactory(role=ROLE_ADMIN)
            _token, key = api_token_create(actor=Actor.system("tests"), user=user)
            yield {"headers": {"Authorization": f"Token {key}"}, "guard": guard}
            transaction.set_rollback(True)
    finally:
        guard.uninstall()
        hosts.disable()
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
        EXISTING_IDS.clear()


def load_schema():
    """The live schema, as the app serves it (no database access is needed for it)."""
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {"mode": "all", "max-examples": MAX_EXAMPLES},
            "phases": {"stateful": {"enabled": False}},
        }
    )
    # /api/v1/schema/ needs a staff login or a token, and there is no database to make one
    # at collection time: the same generator the view runs builds it here.
    document = json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(public=True)))
    loaded = schemathesis.openapi.from_dict(document, config=config)
    loaded.app = application
    loaded.location = SCHEMA_PATH
    return loaded


schema = load_schema()


@hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
        # pytest-django's per-test transaction; each example is isolated by its own savepoint.
        HealthCheck.function_scoped_fixture,
    ],
)
@schema.parametrize()
def test_api_conforms_to_its_schema(case, seeded_api):
    if _skip_coverage_case(case):
        return
    _use_existing_id(case)
    _ldap_test_on_loopback(case)
    _port_check_on_loopback(case)
    guard = seeded_api["guard"]
    guard.refused.clear()
    # A savepoint per request: every example starts from the same seeded data.
    with transaction.atomic():
        try:
            case.call_and_validate(headers=seeded_api["headers"], checks=CHECKS)
        finally:
            transaction.set_rollback(True)
    assert not guard.refused, f"the request tried to reach outside loopback: {guard.refused}"
