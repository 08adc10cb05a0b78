"""Transactions run again when MariaDB picks them as a deadlock victim.

InnoDB answers 1213 (deadlock found: the whole transaction was rolled back) or 1205 (lock
wait timeout: the statement was rolled back) when two writers take the same rows in
different orders or one waits too long. Neither means the request was wrong: the same
transaction, run again from the start, succeeds. Every write path that can meet them (the
webfon login, logout and forced logout, the expiry and purge sweeps, the push claim, pool,
extension, user and node changes) runs its transaction through :func:`run_atomic` or the
:func:`retrying_atomic` decorator, so the rule lives here once.

Only the outermost transaction can be run again: after 1213 the server has already rolled
back everything since BEGIN, so a savepoint inside it is gone. A call nested in another
transaction therefore joins it, and the caller that owns the transaction retries. The
atomic blocks Django's TestCase wraps every test in stand for the request's autocommit
(Django's ``durable=True`` makes the same exception), so tests retry through a savepoint.

A service (:func:`retrying_atomic`) nested in its caller's transaction joins it without a
savepoint of its own (two statements less per call: 1,000 edits in one transaction are 2,000
round trips fewer): when it fails, the whole transaction is marked for rollback, as Django's
``atomic(savepoint=False)`` does, so nothing of a refused call can be committed. A caller
that goes on after a refused call gives that call a savepoint of its own (the bulk import
runs each row it may refuse in ``transaction.atomic()``).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import random
import time
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

from django.db import DEFAULT_DB_ALIAS, OperationalError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

logger = logging.getLogger("portal.db")

# MariaDB/MySQL: 1213 deadlock found, 1205 lock wait timeout exceeded.
RETRYABLE_DB_ERRORS = frozenset({1205, 1213})
ATTEMPTS = 8

P = ParamSpec("P")
R = TypeVar("R")


def is_retryable(exc: BaseException) -> bool:
    """A deadlock or a lock wait timeout (the driver's error code is the first argument)."""
    return (
        isinstance(exc, OperationalError) and bool(exc.args) and exc.args[0] in RETRYABLE_DB_ERRORS
    )


def owns_transaction(using: str = DEFAULT_DB_ALIAS) -> bool:
    """True when an atomic block opened now would be the outermost one (test wrappers aside)."""
    return all(
        getattr(block, "_from_testcase", False) for block in connections[using].atomic_blocks
    )


def _backoff(attempt: int) -> None:
    # Exponential with full jitter, so the victims of one deadlock do not collide again at
    # once and a hot row (50 clients ending sessions of one pool) gets time to cool: up to
    # 40, 80, 160, 320, 640 ms, then 1 s (about 3 s in all before the last attempt).
    time.sleep(random.uniform(0.005, min(1.0, 0.02 * 2**attempt)))  # noqa: S311 (jitter)


def run_atomic(
    func: Callable[[], R],
    *,
    label: str,
    attempts: int = ATTEMPTS,
    also_retry: tuple[type[Exception], ...] = (),
    using: str = DEFAULT_DB_ALIAS,
    savepoint: bool = True,
) -> R:
    """Run ``func`` in a transaction; on 1213/1205 (or one of ``also_retry``) roll it back and
    run it again, up to ``attempts`` times. Nested in another transaction, it joins it, in a
    savepoint unless ``savepoint`` is False (then a failure marks the whole transaction for
    rollback)."""
    if not owns_transaction(using):
        with transaction.atomic(using=using, savepoint=savepoint):
            return func()
    for attempt in range(1, attempts + 1):
        try:
            with transaction.atomic(using=using):
                return func()
        except OperationalError as exc:
            if not is_retryable(exc) or attempt == attempts:
                raise
            code = exc.args[0]
        except also_retry as exc:
            if attempt == attempts:
                raise
            code = type(exc).__name__
        logger.info("db.retry what=%s attempt=%s code=%s", label, attempt, code)
        _backoff(attempt)
    raise AssertionError("unreachable")


def retrying_atomic(func: Callable[P, R]) -> Callable[P, R]:
    """``@transaction.atomic`` for a service function, run again on a deadlock; nested in a
    caller's transaction, without a savepoint (see above)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        return run_atomic(lambda: func(*args, **kwargs), label=func.__qualname__, savepoint=False)

    return wrapper


@contextlib.contextmanager
def side_connection(using: str = DEFAULT_DB_ALIAS) -> Iterator[BaseDatabaseWrapper | None]:
    """A connection of its own to the database ``using``, in autocommit, for what must be
    seen by others while the current transaction is still open (the rows done of an import,
    whose data commits at its end); closed on leaving. None on SQLite, which lets one writer
    at a time: the open transaction holds the lock such a write would wait for."""
    if connections[using].vendor == "sqlite":
        yield None
        return
    connection = connections.create_connection(using)
    try:
        yield connection
    finally:
        connection.close()
