"""Pool occupancy from session intervals: a sweep over start and end events, hour by hour.

A session occupies a member of its pool over ``[start, end)`` (half-open: a session ending at
the instant another starts does not overlap it). Sessions are fed in start order; their ends
wait in a heap, so the sweep keeps only the open sessions in memory and reads any number of
sessions as a stream (the beat's roll-up and the live tail both use it).

For each hour of the window it yields:

- ``peak``: the most sessions open at once at any instant of the hour (those open when the hour
  starts count);
- ``full_seconds``: how long the open sessions were as many as the pool's size (or more) then;
- ``start_levels``: ``start_levels[k - 1]`` sessions started in the hour and were the k-th open
  one at their start. With ``s`` members, each of those with ``k > s`` would have found the pool
  full: that is what the recommended size is computed from (:func:`refusals_with_size`).

Nothing here reads the database.
"""

from __future__ import annotations

import datetime
import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

HOUR = datetime.timedelta(hours=1)


def hour_floor(moment: datetime.datetime) -> datetime.datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


@dataclass
class HourStats:
    hour: datetime.datetime  # the hour's start (aware, UTC)
    size: int  # members of the pool in that hour
    peak: int = 0
    full_seconds: float = 0.0
    start_levels: list[int] = field(default_factory=list)

    def add_start(self, level: int) -> None:
        if len(self.start_levels) < level:
            self.start_levels.extend([0] * (level - len(self.start_levels)))
        self.start_levels[level - 1] += 1

    @property
    def starts(self) -> int:
        return sum(self.start_levels)


class OccupancySweep:
    """Feed sessions with :meth:`add` in start order (any start, even before the window), then
    :meth:`finish`. ``size_of(hour)`` gives the pool's size in each hour of the window."""

    def __init__(
        self,
        *,
        start: datetime.datetime,
        end: datetime.datetime,
        size_of: Callable[[datetime.datetime], int],
    ) -> None:
        if start != hour_floor(start) or end != hour_floor(end) or end < start:
            raise ValueError("the window must be whole hours, start <= end")
        self.start, self.end = start, end
        self.hours: list[HourStats] = []
        hour = start
        while hour < end:
            self.hours.append(HourStats(hour=hour, size=size_of(hour)))
            hour += HOUR
        self._ends: list[datetime.datetime] = []  # heap of the open sessions' ends
        self._now = start  # the sweep's clock: everything before it is accounted
        self._last_start: datetime.datetime | None = None

    def _index(self, moment: datetime.datetime) -> int:
        return int((moment - self.start) // HOUR)

    def _advance(self, to: datetime.datetime) -> None:
        """Move the clock to ``to`` (within the window) with the open count unchanged."""
        to = min(to, self.end)
        count = len(self._ends)
        while self._now < to:
            stats = self.hours[self._index(self._now)]
            stop = min(to, stats.hour + HOUR)
            if count > stats.peak:
                stats.peak = count
            if stats.size and count >= stats.size:
                stats.full_seconds += (stop - self._now).total_seconds()
            self._now = stop

    def _close_until(self, moment: datetime.datetime) -> None:
        """Process every end at or before ``moment`` (ends go before starts at one instant)."""
        while self._ends and self._ends[0] <= moment:
            # The count with this session still open held from the clock up to its end.
            self._advance(self._ends[0])
            heapq.heappop(self._ends)

    def add(self, start: datetime.datetime, end: datetime.datetime) -> None:
        if self._last_start is not None and start < self._last_start:
            raise ValueError("sessions must be added in start order")
        self._last_start = start
        if end <= start or end <= self.start or start >= self.end:
            return
        if start < self.start:
            # Open when the window starts: present from its first instant, no start counted.
            heapq.heappush(self._ends, end)
            return
        self._close_until(start)
        self._advance(start)
        heapq.heappush(self._ends, end)
        stats = self.hours[self._index(start)]
        level = len(self._ends)
        stats.add_start(level)
        if level > stats.peak:
            stats.peak = level

    def finish(self) -> list[HourStats]:
        self._close_until(self.end)
        self._advance(self.end)
        return self.hours


def occupancy_hours(
    sessions: Iterable[tuple[datetime.datetime, datetime.datetime]],
    *,
    start: datetime.datetime,
    end: datetime.datetime,
    size_of: Callable[[datetime.datetime], int],
) -> list[HourStats]:
    """Per-hour statistics of ``sessions`` ((start, end) in start order) over [start, end)."""
    sweep = OccupancySweep(start=start, end=end, size_of=size_of)
    for session_start, session_end in sessions:
        sweep.add(session_start, session_end)
    return sweep.finish()


def refusals_with_size(
    hours: Iterable[HourStats], refused_by_hour: dict[datetime.datetime, int], size: int
) -> int:
    """Logins that would have been refused with ``size`` members: the measured sessions that
    started as the (size+1)-th open one or later, and the ``pool_full`` refusals of the hours
    whose real size was not smaller than ``size`` (a bigger pool is assumed to have served them
    with one more member)."""
    refused = 0
    for stats in hours:
        refused += sum(stats.start_levels[size:])
        if refused_by_hour.get(stats.hour) and size <= stats.size:
            refused += refused_by_hour[stats.hour]
    return refused


def recommended_size(
    hours: list[HourStats], refused_by_hour: dict[datetime.datetime, int], *, tolerance: int = 0
) -> int:
    """The smallest size with at most ``tolerance`` refusals (:func:`refusals_with_size`,
    which does not grow with the size, so a binary search finds it)."""
    high = max(
        [s.peak for s in hours] + [s.size + 1 for s in hours if refused_by_hour.get(s.hour)] + [0]
    )
    low = 0
    while low < high:
        middle = (low + high) // 2
        if refusals_with_size(hours, refused_by_hour, middle) <= tolerance:
            high = middle
        else:
            low = middle + 1
    return low
