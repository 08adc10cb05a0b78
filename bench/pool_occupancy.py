"""Benchmark: a pool's occupancy answer with 1,000,000 sessions over 90 days.

Loads one pool of 25 members with ``--sessions`` sessions spread over ``--days`` days (a
working-day profile, a few minutes each), runs the beat's roll-up once over the whole history
(the one-off backfill; in production it runs every 5 minutes over the last hour), then times
the occupancy answer (what the page and ``GET /api/v1/pools/{id}/occupancy/`` compute) for 30
and 90 days, and counts its SQL queries. Goal: ≤ 1 s and the same number of queries for both
windows. Also times the answer computed without the roll-up (every hour from the sessions) over
one day, for comparison. MariaDB by default, in a throw-away database.

    DEBUG=1 [BENCH_DB_SUFFIX=me] .venv/bin/python bench/pool_occupancy.py [--sessions 1000000] [--days 90]
"""

import argparse
import datetime
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DATABASE_URL", "mysql://root:@127.0.0.1:3306/test")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from core.actors import Actor  # noqa: E402
from extensions.models import ExtensionPool  # noqa: E402
from extensions.services import extension_create, pool_create, pool_create_range  # noqa: E402
from licensing.models import LicenseStock  # noqa: E402
from nodes.services import node_create  # noqa: E402
from users.models import PortalUser  # noqa: E402
from webfon.models import PoolOccupancyHour, WebfonSession  # noqa: E402
from webfon.selectors import pool_occupancy  # noqa: E402
from webfon.services import pool_occupancy_rollup  # noqa: E402

BATCH = 10_000


def load(pool: ExtensionPool, *, sessions: int, days: int, now: datetime.datetime) -> None:
    """``sessions`` rows: starts weighted to 8-20 h, 1-6 minutes each, all ended."""
    rng = random.Random(19)  # noqa: S311 (reproducible load, not a secret)
    users = [
        PortalUser.objects.create(account=f"bench{i}", name=f"Bench {i}", email=f"b{i}@example.com")
        for i in range(50)
    ]
    start = now - datetime.timedelta(days=days)
    span = days * 86400
    starts = []
    while len(starts) < sessions:
        offset = rng.uniform(0, span)
        hour = (offset % 86400) / 3600
        if 8 <= hour < 20 or rng.random() < 0.15:
            starts.append(offset)
    starts.sort()
    table = WebfonSession._meta.db_table
    sql = (
        f"INSERT INTO {table} (user_id, token_digest, pool_id, extension_number, client_ip, "  # noqa: S608
        "application, state, started_at, expires_at, ended_at, end_reason) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    )
    adapt = connection.ops.adapt_datetimefield_value
    for first in range(0, sessions, BATCH):
        rows = []
        for index in range(first, min(first + BATCH, sessions)):
            began = start + datetime.timedelta(seconds=starts[index])
            ended = began + datetime.timedelta(seconds=rng.uniform(60, 360))
            rows.append(
                (
                    users[index % len(users)].pk,
                    f"{index:064x}",
                    pool.pk,
                    "1000",
                    "192.0.2.10",
                    "webfon",
                    "ended",
                    adapt(began),
                    adapt(began + datetime.timedelta(hours=1)),
                    adapt(ended),
                    "logout",
                )
            )
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)


def timed(call, repeat: int = 3) -> tuple[float, int]:
    timings, queries = [], []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            began = time.perf_counter()
            call()
            timings.append(time.perf_counter() - began)
        queries.append(len(captured.captured_queries))
    return statistics.median(timings), max(queries)


def run(sessions: int, days: int) -> None:
    actor = Actor.system("bench")
    LicenseStock.objects.update_or_create(id=1, defaults={"stock": 1_000_000})
    node = node_create(actor=actor, name="bench-corp", kind="corporate")
    base = extension_create(
        actor=actor, number="1", kind="webfon", node=node, site="Sede", department="Dpto"
    )
    pool = pool_create(actor=actor, name="bench", base_extension=base)
    pool_create_range(actor=actor, pool=pool, first="1000", last="1024")
    now = timezone.now()
    ExtensionPool.objects.filter(pk=pool.pk).update(
        created_at=now - datetime.timedelta(days=days + 1)
    )
    pool.refresh_from_db()
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    began = time.perf_counter()
    load(pool, sessions=sessions, days=days, now=now)
    print(
        f"loaded {WebfonSession.objects.count():,} sessions in {time.perf_counter() - began:.1f} s"
    )
    began = time.perf_counter()
    written = pool_occupancy_rollup(now=now)
    print(
        f"roll-up backfill: {written:,} hours written in {time.perf_counter() - began:.1f} s "
        f"({PoolOccupancyHour.objects.count():,} rows)"
    )
    print(f"{'window':>10} {'median s':>9} {'queries':>8} {'peak':>5} {'recommended':>12}")
    for window in (30, 90):
        seconds, queries = timed(lambda window=window: pool_occupancy(pool=pool, days=window))
        answer = pool_occupancy(pool=pool, days=window)
        print(
            f"{window:>7} d {seconds:>9.3f} {queries:>8} {answer.peak:>5} "
            f"{answer.recommended_size:>12}"
        )
    PoolOccupancyHour.objects.all().delete()
    seconds, queries = timed(lambda: pool_occupancy(pool=pool, days=1), repeat=1)
    print(f"without roll-up, 1 d from the sessions: {seconds:.3f} s, {queries} queries")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args()
    suffix = os.environ.get("BENCH_DB_SUFFIX", "")
    connection.settings_dict.setdefault("TEST", {})["NAME"] = "portal_bench_occupancy" + (
        f"_{suffix}" if suffix else ""
    )
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        run(args.sessions, args.days)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
