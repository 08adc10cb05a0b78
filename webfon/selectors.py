"""Reads on webfon sessions and the access policy."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from extensions.models import Extension, ExtensionPool
from webfon.models import LoginOutcomeHour, PoolOccupancyHour, WebfonPolicy, WebfonSession
from webfon.occupancy import HOUR, HourStats, hour_floor, occupancy_hours, recommended_size


def webfon_policy_get() -> WebfonPolicy:
    """The single policy row (created by a migration). A selector never writes: when the row is
    missing this is the default policy, unsaved; the service that saves it creates it."""
    return WebfonPolicy.objects.filter(id=WebfonPolicy.SINGLETON_ID).first() or WebfonPolicy(
        id=WebfonPolicy.SINGLETON_ID
    )


def webfon_sessions_live() -> QuerySet[WebfonSession]:
    """Sessions in force: active and not past their expiry."""
    return WebfonSession.objects.filter(
        state=WebfonSession.State.ACTIVE, expires_at__gt=timezone.now()
    )


def webfon_sessions_recently_ended(limit: int = 20) -> list[WebfonSession]:
    """The last sessions that ended, newest first, with why (one query)."""
    return list(
        WebfonSession.objects.filter(state=WebfonSession.State.ENDED)
        .select_related("user")
        .only("extension_number", "started_at", "ended_at", "end_reason", "user__account")
        .order_by("-ended_at", "-id")[:limit]
    )


@dataclass(frozen=True)
class PoolOccupation:
    name: str
    size: int
    in_use: int


def pool_occupation(pool_id: int) -> PoolOccupation:
    members = Extension.objects.filter(pool_id=pool_id)
    in_use = webfon_sessions_live().filter(pool_extension__pool_id=pool_id).count()
    name = ExtensionPool.objects.filter(pk=pool_id).values_list("name", flat=True).first()
    return PoolOccupation(name=name or "", size=members.count(), in_use=in_use)


# --- pool occupancy history (issue #19) -----------------------------------------------------
# A session never lasts longer than the longest token lifetime the policy allows (7 days);
# older starts cannot reach a window, so the index range read stays bounded.
SESSION_MAX_SPAN = datetime.timedelta(days=8)
OCCUPANCY_MAX_DAYS = 400
OCCUPANCY_WINDOWS = (7, 30, 90)


def _session_end(
    ended_at: datetime.datetime | None, expires_at: datetime.datetime, now: datetime.datetime
) -> datetime.datetime:
    """When a session stopped holding its member: its end, its expiry if earlier (an expired
    session's member is free for the next login even before the sweep ends it), and ``now``
    for one still open."""
    return min(ended_at or now, expires_at, now)


def pool_session_intervals(
    *,
    pool_id: int,
    start: datetime.datetime,
    end: datetime.datetime,
    now: datetime.datetime,
    chunk_size: int | None = None,
) -> Iterator[tuple[datetime.datetime, datetime.datetime]]:
    """(start, end) of the pool's sessions that overlap [start, end), in start order. One
    query; with ``chunk_size``, read in pages by (started_at, id) so any number of sessions
    streams in bounded memory."""
    rows = (
        WebfonSession.objects.filter(
            pool_id=pool_id,
            started_at__gte=start - SESSION_MAX_SPAN,
            started_at__lt=end,
            expires_at__gt=start,
        )
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=start))
        .order_by("started_at", "id")
    )
    if chunk_size is None:
        for started_at, ended_at, expires_at in rows.values_list(
            "started_at", "ended_at", "expires_at"
        ):
            yield started_at, _session_end(ended_at, expires_at, now)
        return
    after: tuple[datetime.datetime, int] | None = None
    while True:
        page = rows
        if after is not None:
            page = page.filter(Q(started_at__gt=after[0]) | Q(started_at=after[0], id__gt=after[1]))
        batch = list(page.values_list("started_at", "ended_at", "expires_at", "id")[:chunk_size])
        for started_at, ended_at, expires_at, _pk in batch:
            yield started_at, _session_end(ended_at, expires_at, now)
        if len(batch) < chunk_size:
            return
        after = (batch[-1][0], batch[-1][3])


@dataclass(frozen=True)
class OccupancyDay:
    day: datetime.date
    peak: int
    size: int
    hours_full: float
    refused_pool_full: int


@dataclass(frozen=True)
class PoolOccupancy:
    pool: ExtensionPool
    days: int
    tolerance: int
    start: datetime.datetime
    end: datetime.datetime
    size: int
    peak: int
    hours_full: float
    refused_pool_full: int
    recommended_size: int
    hours: list[HourStats]
    refused_by_hour: dict[datetime.datetime, int]
    by_day: list[OccupancyDay]

    @property
    def hourly(self) -> list[dict]:
        return [
            {
                "hour": stats.hour,
                "size": stats.size,
                "peak": stats.peak,
                "hours_full": round(stats.full_seconds / 3600, 2),
                "refused_pool_full": self.refused_by_hour.get(stats.hour, 0),
            }
            for stats in self.hours
        ]


def pool_occupancy(
    *,
    pool: ExtensionPool,
    days: int,
    tolerance: int = 0,
    now: datetime.datetime | None = None,
) -> PoolOccupancy:
    """The pool's occupancy over the last ``days`` days up to now: rolled-up hours
    (:class:`PoolOccupancyHour`) plus the hours after them computed from the sessions, and
    the ``pool_full`` refusals counted per hour. Five queries whatever the history's size."""
    now = now or timezone.now()
    end = hour_floor(now) + HOUR
    start = max(end - datetime.timedelta(days=days), hour_floor(pool.created_at))
    start = min(start, end - HOUR)
    rolled = {
        row.hour: row
        for row in PoolOccupancyHour.objects.filter(pool=pool, hour__gte=start, hour__lt=end)
    }
    live_start = (max(rolled) + HOUR) if rolled else start
    size_now = Extension.objects.filter(pool=pool).count()
    first_size = rolled[min(rolled)].size if rolled else size_now
    live = occupancy_hours(
        pool_session_intervals(pool_id=pool.pk, start=live_start, end=end, now=now),
        start=live_start,
        end=end,
        size_of=lambda hour: size_now,
    )
    hours: list[HourStats] = []
    hour = start
    while hour < live_start:
        row = rolled.get(hour)
        hours.append(
            HourStats(
                hour=hour,
                size=row.size,
                peak=row.peak,
                full_seconds=row.full_seconds,
                start_levels=list(row.start_levels),
            )
            if row is not None
            # An hour the roll-up has not written (it starts at the pool's creation).
            else HourStats(hour=hour, size=first_size)
        )
        hour += HOUR
    hours.extend(live)
    refused_by_hour = {
        row["hour"]: row["total"]
        for row in LoginOutcomeHour.objects.filter(
            pool_ref=pool.pk, outcome="pool_full", hour__gte=start, hour__lt=end
        )
        .values("hour")
        .annotate(total=Sum("count"))
        .order_by()
    }
    by_day: dict[datetime.date, list[HourStats]] = {}
    for stats in hours:
        by_day.setdefault(timezone.localtime(stats.hour).date(), []).append(stats)
    return PoolOccupancy(
        pool=pool,
        days=days,
        tolerance=tolerance,
        start=start,
        end=end,
        size=size_now,
        peak=max((s.peak for s in hours), default=0),
        hours_full=round(sum(s.full_seconds for s in hours) / 3600, 1),
        refused_pool_full=sum(refused_by_hour.values()),
        recommended_size=recommended_size(hours, refused_by_hour, tolerance=tolerance),
        hours=hours,
        refused_by_hour=refused_by_hour,
        by_day=[
            OccupancyDay(
                day=day,
                peak=max(s.peak for s in day_hours),
                size=max(s.size for s in day_hours),
                hours_full=round(sum(s.full_seconds for s in day_hours) / 3600, 1),
                refused_pool_full=sum(refused_by_hour.get(s.hour, 0) for s in day_hours),
            )
            for day, day_hours in by_day.items()
        ],
    )


@dataclass(frozen=True)
class MeasuredSize:
    pool: ExtensionPool
    size: int
    peak: int
    refused_pool_full: int
    recommended_size: int


def pools_measured_sizes(*, days: int, tolerance: int = 0) -> list[MeasuredSize]:
    """Each pool's size today and the size its last ``days`` days needed (name order)."""
    now = timezone.now()
    rows = []
    for pool in ExtensionPool.objects.order_by("name"):
        occupancy = pool_occupancy(pool=pool, days=days, tolerance=tolerance, now=now)
        rows.append(
            MeasuredSize(
                pool=pool,
                size=occupancy.size,
                peak=occupancy.peak,
                refused_pool_full=occupancy.refused_pool_full,
                recommended_size=occupancy.recommended_size,
            )
        )
    return rows


# --- dashboard --------------------------------------------------------------------------------
@dataclass(frozen=True)
class PoolInUse:
    pk: int
    name: str
    size: int
    in_use: int

    @property
    def percent(self) -> int:
        return round(100 * self.in_use / self.size) if self.size else (100 if self.in_use else 0)


def pools_in_use() -> list[PoolInUse]:
    """Every pool with its members and the members held by live sessions, in one query."""
    size = (
        Extension.objects.filter(pool=OuterRef("pk"))
        .order_by()
        .values("pool")
        .annotate(n=Count("id"))
        .values("n")
    )
    in_use = (
        webfon_sessions_live()
        .filter(pool_extension__pool=OuterRef("pk"))
        .order_by()
        .values("pool_extension__pool")
        .annotate(n=Count("id"))
        .values("n")
    )
    rows = ExtensionPool.objects.annotate(
        size=Coalesce(Subquery(size), 0), in_use=Coalesce(Subquery(in_use), 0)
    ).values_list("pk", "name", "size", "in_use")
    return [PoolInUse(*row) for row in rows.order_by("name")]


def login_outcomes_since(since: datetime.datetime) -> dict[str, int]:
    """Logins per outcome (``ok`` and each refusal reason) in the hours from ``since``'s."""
    return dict(
        LoginOutcomeHour.objects.filter(hour__gte=hour_floor(since))
        .values("outcome")
        .annotate(total=Sum("count"))
        .order_by("outcome")
        .values_list("outcome", "total")
    )
