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

from core.transactions import run_atomic
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


def _take(scope: str, key: str, *, limit: int, window_seconds: int, counted: bool = True) -> bool:
    """Take one slot of the counter (inside the caller's transaction). ``counted=False``
    runs the same statements matching no row: a refusal costs what a counted attempt does."""
    now = timezone.now()
    _ensure_row(scope, key, now)
    rows = LoginThrottle.objects.filter(scope=scope, key=key)
    if not counted:
        rows = rows.filter(attempts__lt=0)
    # A window that is over starts again with this attempt.
    if rows.filter(window_started_at__lte=now - datetime.timedelta(seconds=window_seconds)).update(
        attempts=1, window_started_at=now
    ):
        return True
    return bool(rows.filter(attempts__lt=limit).update(attempts=F("attempts") + 1))


def throttle_acquire(*, scope: str, value: str, limit: int, window_seconds: int) -> bool:
    """Take one attempt slot; False when the limit of this window is reached (locked)."""
    key = throttle_key(scope, value)
    return run_atomic(
        lambda: _take(scope, key, limit=limit, window_seconds=window_seconds),
        label="webfon.throttle_acquire",
    )


def throttle_login_acquire(
    *, ip: str, account: str, ip_limit: int, account_limit: int, window_seconds: int
) -> str:
    """A login's slots, the address's then the account's, in one transaction: "" when both
    were free, else "ip_locked" (the account's counter is left alone) or "account_locked"
    (the address keeps its slot, as a failed attempt does). The same statements run in
    every case, so a lockout shows in the answer, never in its time."""

    def acquire() -> str:
        ip_free = _take(
            Scope.IP, throttle_key(Scope.IP, ip), limit=ip_limit, window_seconds=window_seconds
        )
        account_free = _take(
            Scope.ACCOUNT,
            throttle_key(Scope.ACCOUNT, account),
            limit=account_limit,
            window_seconds=window_seconds,
            counted=ip_free,
        )
        if not ip_free:
            return "ip_locked"
        return "" if account_free else "account_locked"

    return run_atomic(acquire, label="webfon.throttle_acquire")


def _rows(scope: str, value: str):
    return LoginThrottle.objects.filter(scope=scope, key=throttle_key(scope, value))


def throttle_login_failed(*, ip: str, account: str) -> None:
    """The attempt failed (or was locked out): its slots stay taken; note when."""

    def failed() -> None:
        now = timezone.now()
        _rows(Scope.IP, ip).update(last_failure_at=now)
        _rows(Scope.ACCOUNT, account).update(last_failure_at=now)

    run_atomic(failed, label="webfon.throttle_failed")


def throttle_login_passed(*, ip: str, account: str) -> None:
    """The password passed: both slots go back."""

    def passed() -> None:
        for scope, value in ((Scope.IP, ip), (Scope.ACCOUNT, account)):
            _rows(scope, value).filter(attempts__gt=0).update(attempts=F("attempts") - 1)

    run_atomic(passed, label="webfon.throttle_release")


def throttle_clear(*, scope: str, value: str) -> None:
    """A successful login clears the account's failures."""
    rows = _rows(scope, value)
    run_atomic(lambda: rows.update(attempts=0), label="webfon.throttle_clear")
