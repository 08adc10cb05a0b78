"""MariaDB's deadlock (1213) and lock wait timeout (1205) on every write path that can meet
them: the transaction runs again (core.transactions) and the request succeeds, never a 500.

The error is injected where the driver would raise it: a database execute wrapper raises it
on the first statement of the path's transaction that touches the named table, as PyMySQL
does when InnoDB picks the transaction as the victim. The real thing, under load, is
tests/webfon/test_soak.py (MariaDB).
"""

import datetime
import logging
import re
from contextlib import ExitStack

import pytest
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from core.transactions import ATTEMPTS, run_atomic
from nodes.models import Push
from nodes.push import push_claim
from tests.factories import PoolFactory, WebfonExtensionFactory, WebrtcNodeFactory
from users.models import PortalUser
from webfon.models import LoginThrottle, WebfonSession
from webfon.services import webfon_sessions_purge
from webfon.tasks import webfon_sessions_expire_task

pytestmark = pytest.mark.django_db
MESSAGES = {1213: "Deadlock found when trying to get lock", 1205: "Lock wait timeout exceeded"}


class Injector:
    """Raise OperationalError(code) on the first ``times`` statements matching ``pattern``."""

    def __init__(self, code: int, pattern: str, times: int = 1):
        self.code, self.times = code, times
        self.pattern = re.compile(pattern, re.IGNORECASE)
        self.fired = 0

    def __call__(self, execute, sql, params, many, context):
        if self.fired < self.times and self.pattern.search(sql):
            self.fired += 1
            raise OperationalError(self.code, MESSAGES.get(self.code, "injected"))
        return execute(sql, params, many, context)


def statement(verb: str, table: str) -> str:
    """A statement on ``table`` (SQLite quotes names with ", MariaDB with `)."""
    return rf'^\s*{verb}\b.*?[`"]{table}[`"]'


@pytest.fixture
def inject(caplog):
    caplog.set_level(logging.INFO, logger="portal.db")
    with ExitStack() as stack:

        def _inject(code: int, verb: str, table: str, times: int = 1) -> Injector:
            injector = Injector(code, statement(verb, table), times)
            stack.enter_context(connection.execute_wrapper(injector))
            return injector

        yield _inject


def retried(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("db.retry")]


@pytest.fixture
def pool_user(make_user, pool_of):
    pool = pool_of(2)
    return make_user(pool=pool, max_sessions=2)


CODES = pytest.mark.parametrize("code", [1213, 1205])


@CODES
def test_login_allocation(code, inject, login, pool_user, caplog):
    injector = inject(code, "INSERT", "webfon_webfonsession")
    response = login(pool_user.account)
    assert response.status_code == 200, response.content
    assert injector.fired == 1 and WebfonSession.objects.filter(state="active").count() == 1
    assert any(
        "what=webfon.allocate" in line and f"code={code}" in line for line in retried(caplog)
    )


@CODES
def test_login_lockout_counters(code, inject, login, pool_user, caplog):
    injector = inject(code, "UPDATE", "webfon_loginthrottle")
    assert login(pool_user.account, "mal").status_code == 401
    assert injector.fired == 1
    assert LoginThrottle.objects.get(scope="account").attempts == 1  # counted once, not twice
    assert any("what=webfon.throttle" in line for line in retried(caplog))


@CODES
def test_logout(code, inject, login, webfon_client, pool_user, caplog):
    token = login(pool_user.account).json()["token"]
    injector = inject(code, "UPDATE", "webfon_webfonsession")
    response = webfon_client.post("/api/v1/webfon/logout/", {"token": token})
    assert response.status_code == 200, response.content
    assert injector.fired == 1
    assert WebfonSession.objects.get().end_reason == "logout"
    assert any("what=webfon.logout" in line for line in retried(caplog))


@CODES
def test_forced_logout(code, inject, api, login, pool_user, caplog):
    login(pool_user.account)
    session = WebfonSession.objects.get()
    injector = inject(code, "UPDATE", "webfon_webfonsession")
    assert api.delete(f"/api/v1/webfon/sessions/{session.pk}/").status_code == 204
    assert injector.fired == 1
    session.refresh_from_db()
    assert (session.state, session.end_reason, session.pool_extension) == ("ended", "forced", None)
    assert any("webfon_session_end" in line for line in retried(caplog))


@CODES
def test_expiry_sweep(code, inject, login, pool_user, caplog):
    login(pool_user.account)
    WebfonSession.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    injector = inject(code, "UPDATE", "webfon_webfonsession")
    assert webfon_sessions_expire_task.apply().get() == 1
    assert injector.fired == 1
    assert WebfonSession.objects.get().end_reason == "expired"
    assert any("what=webfon.expire" in line for line in retried(caplog))


@CODES
def test_purge_sweep(code, inject, login, pool_user, caplog):
    login(pool_user.account)
    long_ago = timezone.now() - datetime.timedelta(days=30)
    WebfonSession.objects.update(state="ended", ended_at=long_ago, pool_extension=None)
    injector = inject(code, "DELETE", "webfon_webfonsession")
    assert webfon_sessions_purge() == 1
    assert injector.fired == 1 and not WebfonSession.objects.exists()
    assert any("what=webfon.purge" in line for line in retried(caplog))


@CODES
def test_push_claim(code, inject, caplog):
    node = WebrtcNodeFactory()
    push = Push.objects.create(node=node, reasons=["test"])
    injector = inject(code, "UPDATE", "nodes_push")
    claimed = push_claim(push_id=push.pk)
    assert claimed is not None and claimed.status == "running"
    assert injector.fired == 1
    push.refresh_from_db()
    assert (push.status, push.attempts) == ("running", 1)
    assert any("what=push.claim" in line for line in retried(caplog))


@CODES
def test_push_request_of_aplicar(code, inject, api, caplog):
    node = WebrtcNodeFactory()
    injector = inject(code, "INSERT", "nodes_push")
    response = api.post(f"/api/v1/nodes/{node.pk}/push/")
    assert response.status_code == 202, response.content
    assert injector.fired == 1 and Push.objects.filter(node=node).count() == 1
    assert any("what=push.request" in line for line in retried(caplog))


@CODES
def test_pool_range(code, inject, api, licences, caplog):
    pool = PoolFactory()
    injector = inject(code, "INSERT", "extensions_extension")
    response = api.post(f"/api/v1/pools/{pool.pk}/range/", {"first": "7100", "last": "7104"})
    assert response.status_code == 201, response.content
    assert injector.fired == 1 and pool.members.count() == 5
    assert any("pool_create_range" in line for line in retried(caplog))


@CODES
def test_pool_members_change(code, inject, api, login, pool_user, caplog):
    pool = pool_user.pool
    keep = pool.members.order_by("number").first()
    injector = inject(code, "UPDATE", "extensions_extension")
    response = api.patch(f"/api/v1/pools/{pool.pk}/", {"members": [keep.pk]})
    assert response.status_code == 200, response.content
    assert injector.fired == 1
    assert list(pool.members.values_list("pk", flat=True)) == [keep.pk]
    assert any("pool_set_members" in line for line in retried(caplog))


@CODES
def test_user_edit_that_ends_sessions(code, inject, api, login, pool_user, caplog):
    login(pool_user.account)
    fixed = WebfonExtensionFactory()
    injector = inject(code, "UPDATE", "webfon_webfonsession")
    response = api.patch(
        f"/api/v1/users/{pool_user.pk}/", {"pool": None, "webfon_extension": fixed.pk}
    )
    assert response.status_code == 200, response.content
    assert injector.fired == 1
    assert WebfonSession.objects.get().end_reason == "reassigned"
    assert any("portal_user_update" in line for line in retried(caplog))


# --- the helper itself ----------------------------------------------------------------------


def test_a_nested_call_joins_the_outer_transaction_and_leaves_the_retry_to_it():
    """After 1213 the server has rolled the whole transaction back: a nested block must not
    try again inside it; the owner of the transaction does."""
    calls = []

    def inner():
        calls.append("inner")
        raise OperationalError(1213, MESSAGES[1213])

    def outer():
        calls.append("outer")
        return run_atomic(inner, label="test.inner")

    # The outermost block here stands for the request's own transaction.
    with pytest.raises(OperationalError), transaction.atomic():
        run_atomic(outer, label="test.outer_not_owner")
    assert calls == ["outer", "inner"]
    calls.clear()
    with pytest.raises(OperationalError):
        run_atomic(outer, label="test.outer")
    assert calls == ["outer", "inner"] * ATTEMPTS


@pytest.mark.parametrize("error", [OperationalError(1146, "no such table"), IntegrityError()])
def test_other_errors_are_not_retried(error):
    calls = []

    def broken():
        calls.append(1)
        raise error

    with pytest.raises(type(error)):
        run_atomic(broken, label="test.broken")
    assert calls == [1]


def test_what_a_failed_attempt_wrote_is_rolled_back(pool_user):
    attempts = []

    def rename():
        PortalUser.objects.filter(pk=pool_user.pk).update(name=f"intento {len(attempts)}")
        attempts.append(1)
        if len(attempts) == 1:
            raise OperationalError(1213, MESSAGES[1213])
        return PortalUser.objects.get(pk=pool_user.pk).name

    assert run_atomic(rename, label="test.rename") == "intento 1"
