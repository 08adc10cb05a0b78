"""Counters of failed webfon logins per account and per client IP, in the database.

An attempt takes a slot *before* the password reaches the hasher or LDAP, with a
conditional UPDATE (``attempts < limit``), so however many requests race, at most ``limit``
of them get through in one window. A failure keeps its slot; a success gives it back (and
clears the account's counter). Each statement commits on its own, so concurrent requests
see each other's slots at once.
"""

from __future__ import annotations

import datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from webfon.models import LoginThrottle

Scope = LoginThrottle.Scope


def throttle_key(scope: str, value: str) -> str:
    value = value.strip()
    return (value.lower() if scope == Scope.ACCOUNT else value)[:128]


def _ensure_row(scope: str, key: str, now: datetime.datetime) -> None:
    if LoginThrottle.objects.filter(scope=scope, key=key).exists():
        return
    try:
        with transaction.atomic():
            LoginThrottle.objects.create(scope=scope, key=key, window_started_at=now)
    except IntegrityError:
        pass  # another request created it first


def throttle_acquire(*, scope: str, value: str, limit: int, window_seconds: int) -> bool:
    """Take one attempt slot; False when the limit of this window is reached (locked)."""
    key = throttle_key(scope, value)
    now = timezone.now()
    _ensure_row(scope, key, now)
    rows = LoginThrottle.objects.filter(scope=scope, key=key)
    # A window that is over starts again with this attempt.
    if rows.filter(window_started_at__lte=now - datetime.timedelta(seconds=window_seconds)).update(
        attempts=1, window_started_at=now
    ):
        return True
    return bool(rows.filter(attempts__lt=limit).update(attempts=F("attempts") + 1))


def throttle_failed(*, scope: str, value: str) -> None:
    """The attempt failed: it keeps its slot; note when."""
    LoginThrottle.objects.filter(scope=scope, key=throttle_key(scope, value)).update(
        last_failure_at=timezone.now()
    )


def throttle_release(*, scope: str, value: str) -> None:
    """The attempt succeeded: give its slot back."""
    LoginThrottle.objects.filter(
        scope=scope, key=throttle_key(scope, value), attempts__gt=0
    ).update(attempts=F("attempts") - 1)


def throttle_clear(*, scope: str, value: str) -> None:
    """A successful login clears the account's failures."""
    LoginThrottle.objects.filter(scope=scope, key=throttle_key(scope, value)).update(attempts=0)
