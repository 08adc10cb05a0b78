"""Ending a session locks its user's row before the session's (webfon.services._sessions_end),
the order a login takes them in: while another transaction holds the user, a logout, a forced
logout or the expiry sweep waits there without holding the session row, so the two cannot
deadlock. On MariaDB, with real row locks held by a connection of the test's own."""

import datetime
import threading

import pytest
from django.db import OperationalError, connection, connections
from django.utils import timezone

from core.actors import Actor
from core.tokens import token_digest
from tests.celery_worker import wait_for
from tests.factories import PortalUserFactory, WebfonSessionFactory
from webfon.models import WebfonSession
from webfon.services import webfon_logout, webfon_session_end, webfon_sessions_expire

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.mariadb,
]
TOKEN = "token-de-prueba-del-orden-de-bloqueo"


def lock_waits() -> int:
    with connections.create_connection("default").cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM information_schema.INNODB_LOCK_WAITS")
        return cursor.fetchone()[0]


def session_row_free(session) -> bool:
    """Whether another connection could lock the session's row now (NOWAIT: no waiting)."""
    probe = connections.create_connection("default")
    try:
        probe.set_autocommit(False)
        with probe.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM webfon_webfonsession WHERE id = %s FOR UPDATE NOWAIT",
                [session.pk],
            )
        return True
    except OperationalError:
        return False
    finally:
        probe.rollback()
        probe.close()


def in_thread(action) -> threading.Thread:
    errors: list[BaseException] = []

    def run():
        try:
            action()
        except BaseException as exc:  # reported by the test
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.errors = errors  # type: ignore[attr-defined]
    thread.start()
    return thread


def expired_or_live(*, expired: bool):
    now = timezone.now()
    return WebfonSessionFactory(
        user=PortalUserFactory(),
        token_digest=token_digest(TOKEN),
        state="active",
        started_at=now - datetime.timedelta(hours=2),
        expires_at=now + datetime.timedelta(hours=-1 if expired else 1),
    )


ACTIONS = {
    "logout": (False, lambda session: webfon_logout(token=TOKEN)),
    "forced logout": (
        False,
        lambda session: webfon_session_end(actor=Actor.system("tests"), session=session),
    ),
    "expiry sweep": (True, lambda session: webfon_sessions_expire()),
}


@pytest.mark.parametrize("name", ACTIONS)
def test_ending_a_session_waits_for_its_user_before_taking_the_session(row_lock, name):
    expired, action = ACTIONS[name]
    session = expired_or_live(expired=expired)
    row_lock(session.user)  # as a login of that user holds it
    thread = in_thread(lambda: action(session))
    try:
        wait_for(lambda: lock_waits() > 0 or not thread.is_alive(), 30, what="the wait")
        assert thread.is_alive(), thread.errors
        assert session_row_free(session)  # waiting for the user, holding no session row
        assert WebfonSession.objects.get(pk=session.pk).state == "active"
    finally:
        row_lock.release()
        thread.join(30)
    assert not thread.errors, thread.errors
    ended = WebfonSession.objects.get(pk=session.pk)
    assert ended.state == "ended" and ended.pool_extension_id is None
