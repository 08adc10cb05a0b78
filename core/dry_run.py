"""Writes run to be rolled back whatever happens (an import's preview).

A dry run executes the same services, with the same checks and errors, in a transaction
that is never committed. What only the commit would keep can be left out there: the audit
entries are built but not written, and a password is not hashed (a deliberate fraction of a
second of CPU each, and a file of 2,000 users may carry 2,000 of them). Nothing that decides
whether a write is accepted may depend on :func:`in_dry_run`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_active: ContextVar[bool] = ContextVar("dry_run", default=False)


@contextmanager
def dry_run() -> Iterator[None]:
    """Mark the writes inside as a dry run (the caller rolls their transaction back)."""
    token = _active.set(True)
    try:
        yield
    finally:
        _active.reset(token)


def in_dry_run() -> bool:
    return _active.get()
