"""Benchmark: creating a pool range of 100 and of 10,000 webfon extensions.

Prints, for each size, the SQL queries the service ran (they must not grow with the
range) and the wall time, plus seconds per 1,000 extensions. Runs on MariaDB by default
(DATABASE_URL=mysql://root:@127.0.0.1:3306/test) in a throw-away test database.

    DEBUG=1 [BENCH_DB_SUFFIX=me] .venv/bin/python bench/pool_range.py [--sizes 100 10000] [--repeat 3]
"""

import argparse
import os
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

from core.actors import Actor  # noqa: E402
from extensions.models import Extension, ExtensionPool  # noqa: E402
from extensions.services import extension_create, pool_create, pool_create_range  # noqa: E402
from licensing.models import LicenseStock  # noqa: E402
from nodes.services import node_create  # noqa: E402


def run(sizes: list[int], repeat: int) -> None:
    actor = Actor.system("bench")
    LicenseStock.objects.update_or_create(id=1, defaults={"stock": 10_000_000})
    node = node_create(actor=actor, name="bench-corp", kind="corporate")
    base = extension_create(
        actor=actor, number="1", kind="webfon", node=node, site="Sede", department="Dpto"
    )
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    print(f"{'size':>7} {'queries':>8} {'median s':>9} {'s per 1000':>11}")
    start = 10_000_000
    for size in sizes:
        timings, queries = [], []
        for _ in range(repeat):
            pool = pool_create(actor=actor, name=f"bench-{start}", base_extension=base)
            first, last = str(start), str(start + size - 1)
            with CaptureQueriesContext(connection) as captured:
                began = time.perf_counter()
                created = pool_create_range(actor=actor, pool=pool, first=first, last=last)
                timings.append(time.perf_counter() - began)
            assert len(created) == size
            queries.append(len(captured.captured_queries))
            start += size
            # Keep the table the same size for every repetition.
            Extension.objects.filter(pool=pool).delete()
            ExtensionPool.objects.filter(pk=pool.pk).delete()
        median = statistics.median(timings)
        print(f"{size:>7} {max(queries):>8} {median:>9.3f} {median / size * 1000:>11.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 10_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    # A database of its own, so a test run (test_<name>) is never clobbered.
    # BENCH_DB_SUFFIX keeps benches run at the same time by several people apart.
    suffix = os.environ.get("BENCH_DB_SUFFIX", "")
    connection.settings_dict.setdefault("TEST", {})["NAME"] = "portal_bench" + (
        f"_{suffix}" if suffix else ""
    )
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        run(args.sizes, args.repeat)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
