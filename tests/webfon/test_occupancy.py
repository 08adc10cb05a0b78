"""Pool occupancy: peaks, hours full and recommended size from session intervals (the pure
sweep against a brute-force count, then through the database with the beat's roll-up)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.factories import PortalUserFactory, WebfonExtensionFactory
from webfon.occupancy import HOUR, occupancy_hours, recommended_size, refusals_with_size
from webfon.selectors import pool_occupancy
from webfon.services import login_outcome_record, pool_occupancy_rollup

UTC = datetime.UTC
T0 = datetime.datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def at(minutes: float) -> datetime.datetime:
    return T0 + datetime.timedelta(minutes=minutes)


# --- the sweep, pure ------------------------------------------------------------------------
def test_hand_made_intervals():
    """Overlaps, one ending when another starts (no overlap), one open before the window and
    one running past its end; pool of 2 members."""
    sessions = [
        (at(-30), at(20)),  # open when the window starts: present, its start not counted
        (at(10), at(70)),  # overlaps the first: 2 at once from 10 to 20 (full)
        (at(20), at(40)),  # starts as the first ends: still 2 (full 20..40)
        (at(70), at(200)),  # starts as the second ends; runs past the window's end
        (at(90), at(100)),  # 2 at once 90..100 (full)
        (at(95), at(99)),  # the 3rd at once: would not have fitted in 2 members
    ]
    hours = occupancy_hours(sessions, start=T0, end=T0 + 2 * HOUR, size_of=lambda hour: 2)
    assert [(h.peak, h.full_seconds / 60) for h in hours] == [(2, 30), (3, 10)]
    # Starts in the first hour: 2nd open (at 10), 2nd open (at 20); second hour: 1st (70),
    # 2nd (90), 3rd (95).
    assert [h.start_levels for h in hours] == [[0, 2], [1, 1, 1]]
    assert refusals_with_size(hours, {}, 2) == 1
    assert refusals_with_size(hours, {}, 1) == 4
    assert recommended_size(hours, {}) == 3
    assert recommended_size(hours, {}, tolerance=1) == 2
    # A pool_full refusal in the second hour (size 2 then) needs a third member too.
    assert refusals_with_size(hours, {T0 + HOUR: 4}, 2) == 5
    assert refusals_with_size(hours, {T0 + HOUR: 4}, 3) == 0


def test_sessions_out_of_order_are_refused():
    with pytest.raises(ValueError):
        occupancy_hours(
            [(at(10), at(20)), (at(5), at(6))], start=T0, end=T0 + HOUR, size_of=lambda hour: 1
        )


def brute_force(sessions, start, end, size):
    """Per hour: peak (count at every instant that can be a maximum), full minutes (the
    intervals are whole minutes) and each in-window start's level."""
    hours = []
    hour = start
    while hour < end:
        instants = [hour] + [s for s, _e in sessions if hour <= s < hour + HOUR]
        peak = max(sum(1 for s, e in sessions if s <= t < e) for t in instants)
        full = sum(
            1
            for minute in range(60)
            if sum(1 for s, e in sessions if s <= hour + datetime.timedelta(minutes=minute) < e)
            >= size
        )
        hours.append((peak, full * 60))
        hour += HOUR
    levels = []
    for index, (s, e) in enumerate(sessions):
        if start <= s < end and e > s:
            # Open at its start: earlier starts still open, plus ties fed before it.
            levels.append(
                sum(
                    1
                    for j, (s2, e2) in enumerate(sessions)
                    if e2 > s and (s2 < s or (s2 == s and j <= index)) and e2 > s2
                )
            )
    return hours, levels


intervals = st.lists(
    st.tuples(st.integers(min_value=-120, max_value=300), st.integers(min_value=1, max_value=240)),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(raw=intervals, size=st.integers(min_value=1, max_value=8), tolerance=st.integers(0, 5))
def test_sweep_against_brute_force(raw, size, tolerance):
    sessions = sorted((at(s), at(s + length)) for s, length in raw)
    start, end = T0, T0 + 4 * HOUR
    hours = occupancy_hours(sessions, start=start, end=end, size_of=lambda hour: size)
    expected_hours, levels = brute_force(sessions, start, end, size)
    assert [(h.peak, h.full_seconds) for h in hours] == expected_hours
    assert sorted(
        level for h in hours for level, n in enumerate(h.start_levels, 1) for _ in range(n)
    ) == sorted(levels)
    recommended = recommended_size(hours, {}, tolerance=tolerance)
    refused = [sum(1 for level in levels if level > s) for s in range(0, 50)]
    assert recommended == next(s for s in range(50) if refused[s] <= tolerance)


# --- through the database -----------------------------------------------------------------
@pytest.fixture
def pool3(pool_of):
    return pool_of(3)


def _shift_creation(pool, when):
    type(pool).objects.filter(pk=pool.pk).update(created_at=when)
    pool.refresh_from_db()


def test_occupancy_from_sessions(pool3, pool_history, pool_of):
    """Overlaps, a session still open, one crossing the window's start, an expired one never
    ended, and another pool's sessions that must not count."""
    _shift_creation(pool3, T0 - datetime.timedelta(days=5))
    now = T0 + datetime.timedelta(hours=3, minutes=30)
    pool_history(pool3, T0 - datetime.timedelta(days=1, hours=1), at(30), expires=at(600))
    pool_history(pool3, at(10), at(80))
    pool_history(pool3, at(20), at(25))
    pool_history(pool3, at(22))  # still open: counts up to now
    # Active but expired at 100 (the member is free for the next login): counts until then.
    pool_history(pool3, at(60), expires=at(100))
    other = pool_of(1)
    for minute in range(0, 180, 5):
        pool_history(other, at(minute), at(minute + 4))
    occupancy = pool_occupancy(pool=pool3, days=1, now=now)
    by_hour = {h.hour: h for h in occupancy.hours}
    assert (by_hour[T0].peak, by_hour[T0].full_seconds / 60) == (4, 10)
    assert (by_hour[T0 + HOUR].peak, by_hour[T0 + HOUR].full_seconds / 60) == (3, 20)
    assert by_hour[T0 + 2 * HOUR].peak == 1
    assert by_hour[T0 + 3 * HOUR].peak == 1  # the open session, up to now
    assert occupancy.peak == 4
    assert occupancy.size == 3
    assert occupancy.recommended_size == 4
    assert occupancy.hours_full == 0.5


def test_rollup_keeps_the_answer_and_the_size_of_each_hour(pool3, pool_history):
    """The beat's roll-up gives the same hours as the live computation; a pool resized later
    keeps its old size in the hours written before, so those hours stay full."""
    _shift_creation(pool3, T0)
    for minute in (0, 5, 10):
        pool_history(pool3, at(minute), at(minute + 50))  # 3 of 3 from 10 to 50: full
    pool_history(pool3, at(130), at(150))
    later = T0 + datetime.timedelta(hours=2, minutes=30)
    live = pool_occupancy(pool=pool3, days=1, now=later)
    assert pool_occupancy_rollup(now=later) == 2  # hours 8h and 9h are over
    rolled = pool_occupancy(pool=pool3, days=1, now=later)
    assert [(h.hour, h.peak, h.full_seconds, h.start_levels) for h in rolled.hours] == [
        (h.hour, h.peak, h.full_seconds, h.start_levels) for h in live.hours
    ]
    assert pool_occupancy_rollup(now=later) == 0  # idempotent
    # Resized to 5: the rolled hours keep 3 members (full for 40 min), the new ones have 5.
    for _ in range(2):
        WebfonExtensionFactory(pool=pool3, node=pool3.base_extension.node)
    after = pool_occupancy(pool=pool3, days=1, now=later)
    assert [h.size for h in after.hours] == [3, 3, 5]
    assert after.hours[0].full_seconds == 40 * 60
    assert after.hours_full == round(40 / 60, 1)
    assert after.size == 5
    assert after.recommended_size == 3


def test_recommended_size_counts_pool_full_refusals(pool3, pool_history):
    _shift_creation(pool3, T0)
    pool_history(pool3, at(0), at(30))
    now = T0 + 2 * HOUR
    assert pool_occupancy(pool=pool3, days=1, now=now).recommended_size == 1
    # Refused in the second hour with 3 members: 4 would have served them.
    user = PortalUserFactory(pool=pool3)
    for _ in range(2):
        login_outcome_record(outcome="pool_full", user_id=user.pk, at=at(70))
    occupancy = pool_occupancy(pool=pool3, days=1, now=now)
    assert occupancy.refused_pool_full == 2
    assert occupancy.recommended_size == 4
    assert pool_occupancy(pool=pool3, days=1, now=now, tolerance=2).recommended_size == 1


def test_queries_do_not_grow_with_the_history(pool3, pool_history, django_assert_num_queries):
    _shift_creation(pool3, T0 - datetime.timedelta(days=40))
    now = T0 + 3 * HOUR

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            pool_occupancy(pool=pool3, days=30, now=now)
        return len(queries)

    pool_history(pool3, at(0), at(10))
    few = count()
    for day in range(20):
        for minute in range(0, 600, 30):
            pool_history(pool3, at(-day * 1440 + minute), at(-day * 1440 + minute + 45))
    pool_occupancy_rollup(now=now)
    assert count() == few
    with django_assert_num_queries(few):
        pool_occupancy(pool=pool3, days=90, now=now)
