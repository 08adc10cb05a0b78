"""Lockout of the staff login, per (account name, client address).

An attempt takes a slot *before* the password reaches the hasher, with a conditional UPDATE
(``attempts < limit``), so however many requests race, at most ``limit`` of them are checked
in one window (django-axes counts failures after the hasher has run, which lets parallel
requests through). A failure keeps its slot; the failure that fills the last slot locks the
pair for STAFF_LOGIN_LOCKOUT_SECONDS. A success clears the pair. Each statement commits on
its own, so concurrent requests see each other's slots at once.
"""

from __future__ import annotations

import datetime
import unicodedata

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import StaffLoginThrottle


def account_key(username: str) -> str:
    """One counter for every spelling of a name: Unicode-normalised, trimmed, case-folded."""
    return unicodedata.normalize("NFKC", username or "").strip().casefold()[:150]


def _pair(account: str, client_ip: str):
    return StaffLoginThrottle.objects.filter(account=account_key(account), client_ip=client_ip)


def lockout_acquire(*, account: str, client_ip: str) -> bool:
    """Take one attempt slot; False when the pair is locked or its slots are all taken."""
    key = account_key(account)
    now = timezone.now()
    if not StaffLoginThrottle.objects.filter(account=key, client_ip=client_ip).exists():
        try:
            with transaction.atomic():
                StaffLoginThrottle.objects.create(
                    account=key, client_ip=client_ip, window_started_at=now
                )
        except IntegrityError:
            pass  # another request created it first
    rows = _pair(key, client_ip)
    window = datetime.timedelta(seconds=settings.STAFF_LOGIN_FAILURE_WINDOW_SECONDS)
    # A lock that has run out, or a window that is over, starts again with this attempt.
    if rows.filter(
        Q(locked_until__lte=now) | Q(locked_until__isnull=True, window_started_at__lte=now - window)
    ).update(attempts=1, window_started_at=now, locked_until=None):
        return True
    return bool(
        rows.filter(
            locked_until__isnull=True, attempts__lt=settings.STAFF_LOGIN_FAILURE_LIMIT
        ).update(attempts=F("attempts") + 1)
    )


def lockout_failed(*, account: str, client_ip: str) -> datetime.datetime | None:
    """The attempt failed: it keeps its slot. Answers the end of the lock when this failure
    is the one that locks the pair (so the lockout is recorded once), else None."""
    now = timezone.now()
    rows = _pair(account, client_ip)
    rows.update(last_failure_at=now)
    until = now + datetime.timedelta(seconds=settings.STAFF_LOGIN_LOCKOUT_SECONDS)
    locked = rows.filter(
        locked_until__isnull=True, attempts__gte=settings.STAFF_LOGIN_FAILURE_LIMIT
    ).update(locked_until=until)
    return until if locked else None


def lockout_succeeded(*, account: str, client_ip: str) -> None:
    """The right password: the pair's failures are forgotten."""
    _pair(account, client_ip).update(attempts=0, locked_until=None, last_failure_at=None)
