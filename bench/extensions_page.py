"""Benchmark: rendering the Extensiones list page at 2,000 and at 20,000 extensions.

Loads extensions (physical ones, some with an owner user, and webfon ones, some in pools)
into a throw-away test database of its own, then renders /extensiones/ with a logged-in
administrador, as a browser would (django.test.Client, full middleware and templates).
Prints for each size the median render time and the SQL queries of one render (they must
not grow with the rows), then the ratio large/small (goal: <= 1.5).

Runs on MariaDB by default (DATABASE_URL=mysql://root:@127.0.0.1:3306/test); the rows
are loaded with bulk_create to keep the set-up short: the services are not what is measured.

    DEBUG=1 .venv/bin/python bench/extensions_page.py [--sizes 2000 20000] [--repeat 15]
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

from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

from bench.staff_client import staff_client  # noqa: E402
from extensions.models import Extension, ExtensionPool, Template  # noqa: E402
from nodes.models import Node  # noqa: E402
from users.models import PortalUser  # noqa: E402

URL = "/extensiones/"
POOL_SIZE = 100
BATCH = 1_000


class Loader:
    """Adds extensions up to a total, keeping the same mix at every size."""

    def __init__(self) -> None:
        self.nodes = [
            Node.objects.create(
                name=f"bench-corp-{n}", kind=Node.Kind.CORPORATE, address=f"10.9.0.{n + 1}"
            )
            for n in range(5)
        ]
        self.template = Template.objects.get(is_system=True)
        self.count = 0
        self.pool: ExtensionPool | None = None
        self.pool_members = 0

    def _owner(self, n: int) -> PortalUser | None:
        if n % 4:  # one physical extension in four has an owner
            return None
        return PortalUser.objects.create(account=f"bench{n}", name=f"Usuario {n}")

    def _pool_for_next_member(self, base: Extension) -> ExtensionPool:
        if self.pool is None or self.pool_members >= POOL_SIZE:
            self.pool = ExtensionPool.objects.create(
                name=f"bench-pool-{ExtensionPool.objects.count()}", base_extension=base
            )
            self.pool_members = 0
        self.pool_members += 1
        return self.pool

    def load_to(self, total: int) -> None:
        while self.count < total:
            rows = []
            for n in range(self.count, min(total, self.count + BATCH)):
                node = self.nodes[n % len(self.nodes)]
                if n % 2 == 0:
                    rows.append(
                        Extension(
                            number=str(1_000_000 + n),
                            kind=Extension.Kind.PHYSICAL,
                            node=node,
                            site=f"Sede {n % 7}",
                            department=f"Dpto {n % 11}",
                            owner=self._owner(n),
                        )
                    )
                else:
                    rows.append(
                        Extension(
                            number=str(5_000_000 + n),
                            kind=Extension.Kind.WEBFON,
                            node=node,
                            template=self.template,
                            site=f"Sede {n % 7}",
                            department=f"Dpto {n % 11}",
                        )
                    )
            created = Extension.objects.bulk_create(rows)
            # Three webfon extensions in four go into pools of 100, as with pool ranges.
            webfon = [e for e in created if e.kind == Extension.Kind.WEBFON]
            for i, extension in enumerate(webfon):
                if i % 4:
                    extension.pool = self._pool_for_next_member(webfon[0])
            Extension.objects.bulk_update([e for e in webfon if e.pool_id], ["pool"])
            self.count += len(rows)


def measure(client: Client, repeat: int) -> tuple[float, int]:
    response = client.get(URL)  # warm-up (templates, permissions cache)
    assert response.status_code == 200, response.status_code
    reset_queries()  # the log keeps 9,000 queries at most: a full one would count none
    with CaptureQueriesContext(connection) as captured:
        client.get(URL)
    if os.environ.get("BENCH_SHOW_SQL"):
        for query in captured.captured_queries:
            print(f"  {query['time']:>7} {query['sql'][:160]}")
    timings = []
    for _ in range(repeat):
        began = time.perf_counter()
        response = client.get(URL)
        timings.append(time.perf_counter() - began)
        assert response.status_code == 200
    return statistics.median(timings), len(captured.captured_queries)


def run(sizes: list[int], repeat: int) -> None:
    setup_test_environment()
    client = staff_client()
    loader = Loader()
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    print(f"{'extensions':>10} {'queries':>8} {'median ms':>10}")
    results = []
    for size in sorted(sizes):
        began = time.perf_counter()
        loader.load_to(size)
        load_s = time.perf_counter() - began
        assert Extension.objects.count() == size
        median, queries = measure(client, repeat)
        results.append((size, median, queries))
        print(f"{size:>10} {queries:>8} {median * 1000:>10.1f}   (loaded in {load_s:.1f} s)")
    (small, t_small, q_small), (large, t_large, q_large) = results[0], results[-1]
    ratio = t_large / t_small
    print(
        f"ratio {large}/{small}: {ratio:.2f} (goal <= 1.5: {'ok' if ratio <= 1.5 else 'NOT MET'}); "
        f"queries {q_small} -> {q_large} ({'constant' if q_small == q_large else 'GROW'})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2_000, 20_000])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    # A database of its own, so a test run (test_<name>) is never clobbered.
    connection.settings_dict.setdefault("TEST", {})["NAME"] = "portal_bench_extensions"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        run(args.sizes, args.repeat)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
