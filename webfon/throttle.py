"""Counters of failed webfon logins per account and per client IP, in the database.

An attempt takes a slot *before* the password reaches the hasher or LDAP, with a
conditional UPDATE (``attempts < limit``), so however many requests race, at most ``limit``
of them get through in one window. A failure keeps its slot; a success gives it back (and
clears the account's counter). Each step commits on its own (retried on a deadlock), so
concurrent requests see each other's slots at once.

The counter of an IPv6 client is its /64: a subscriber usually holds a whole /64, so keying
by the full address would give one attacker 2^64 counters.
"""

from __future__ import annotations

import datetime
import ipaddress

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from portal.transactions import run_atomic
from webfon.models import LoginThrottle

Scope = LoginThrottle.Scope


IPV6_PREFIX = 64


def throttle_key(scope: str, value: str) -> str:
    value = value.strip()
    if scope == Scope.ACCOUNT:
        return value.lower()[:128]
    return _ip_bucket(value)[:128]


def _ip_bucket(value: str) -> str:
    """An IPv4 address counts alone, an IPv6 address with the rest of its /64."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return value
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/{IPV6_PREFIX}", strict=False))
    return str(address)


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

    def acquire() -> bool:
        now = timezone.now()
        _ensure_row(scope, key, now)
        rows = LoginThrottle.objects.filter(scope=scope, key=key)
        # A window that is over starts again with this attempt.
        if rows.filter(
            window_started_at__lte=now - datetime.timedelta(seconds=window_seconds)
        ).update(attempts=1, window_started_at=now):
            return True
        return bool(rows.filter(attempts__lt=limit).update(attempts=F("attempts") + 1))

    return run_atomic(acquire, label="webfon.throttle_acquire")


def throttle_failed(*, scope: str, value: str) -> None:
    """The attempt failed: it keeps its slot; note when."""
    rows = LoginThrottle.objects.filter(scope=scope, key=throttle_key(scope, value))
    run_atomic(lambda: rows.update(last_failure_at=timezone.now()), label="webfon.throttle_failed")


def throttle_release(*, scope: str, value: str) -> None:
    """The attempt succeeded: give its slot back."""
    rows = LoginThrottle.objects.filter(scope=scope, key=throttle_key(scope, value), attempts__gt=0)
    run_atomic(lambda: rows.update(attempts=F("attempts") - 1), label="webfon.throttle_release")


def throttle_clear(*, scope: str, value: str) -> None:
    """A successful login clears the account's failures."""
    rows = LoginThrottle.objects.filter(scope=scope, key=throttle_key(scope, value))
    run_atomic(lambda: rows.update(attempts=0), label="webfon.throttle_clear")
