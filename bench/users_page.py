"""Benchmark: rendering "Administrar usuarios" (/usuarios/) with 1,000 and 10,000 users.

Loads the users in bulk into a throw-away test database, then renders the list page as an
administrador would (django.test.Client) and prints, for each size and each variant of the
page, the median render time, the SQL queries it ran (they must not grow with the users) and
the ratio large/small of the median (goal for the plain page: <= 1.5). The minimum, the
process CPU time and the time spent waiting for SQL are printed too: on a busy machine they
are the steadier figures. Runs on MariaDB by
default (DATABASE_URL=mysql://root:@127.0.0.1:3306/test).

    DEBUG=1 .venv/bin/python bench/users_page.py [--sizes 1000 10000] [--repeat 15]
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
from django.test import Client  # noqa: E402

from bench.staff_client import staff_client  # noqa: E402
from extensions.models import Extension, ExtensionPool, Template  # noqa: E402
from nodes.models import Node  # noqa: E402
from users.models import PortalUser  # noqa: E402

POOLS = 10
# Variants of the page: the plain list (the goal applies to it) and, for information, a
# search, a filter and a sort by a column without an index.
VARIANTS = [
    ("lista", {}),
    ("q=user 12", {"q": "user 12"}),
    ("pool + doble factor", {"pool": "__pool__", "second_factor": "email"}),
    ("ordenada por nombre", {"ordering": "-name", "page": "3"}),
]


def load_users(first: int, last: int, *, node: Node, template: Template, pools: list) -> None:
    """Users first..last-1: one in ten with a fixed webfon extension, half in a pool."""
    numbers = [str(5_000_000 + i) for i in range(first, last) if i % 10 == 0]
    Extension.objects.bulk_create(
        [
            Extension(
                number=number,
                kind=Extension.Kind.WEBFON,
                node=node,
                template=template,
                site="Sede",
                department="Dpto",
            )
            for number in numbers
        ],
        batch_size=1000,
    )
    # Primary keys read back: not every backend returns them from a bulk insert.
    fixed = {
        int(number) - 5_000_000: Extension(pk=pk)
        for pk, number in Extension.objects.filter(number__in=numbers).values_list("pk", "number")
    }
    users = []
    for i in range(first, last):
        users.append(
            PortalUser(
                account=f"user{i:05d}",
                name=f"User {i:05d} Apellido{i % 97}",
                email=f"user{i:05d}@example.com",
                login_number=str(100_000 + i),
                validation=("suite", "ldap", "both", "disabled")[i % 4],
                second_factor="email" if i % 3 == 0 else "none",
                webfon_extension=fixed.get(i),
                pool=pools[i % POOLS] if i % 10 in (1, 2, 3, 4, 5) else None,
            )
        )
    PortalUser.objects.bulk_create(users, batch_size=1000)
    refresh_statistics()


def refresh_statistics() -> None:
    """Update the planner's table statistics, as the server does by itself a little after a
    bulk load; measured right after the load, MariaDB may still plan a full scan + filesort
    for ORDER BY account LIMIT 50 instead of reading the account index."""
    tables = [model._meta.db_table for model in (PortalUser, Extension, ExtensionPool)]
    with connection.cursor() as cursor:
        if connection.vendor == "mysql":
            cursor.execute(f"ANALYZE TABLE {', '.join(tables)}")
            cursor.fetchall()
        elif connection.vendor == "sqlite":
            cursor.execute("ANALYZE")


class SqlTimer:
    """Counts the SQL statements run and the time spent waiting for them."""

    def __init__(self) -> None:
        self.count, self.seconds = 0, 0.0

    def __call__(self, execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - began
            self.count += 1


def measure(client: Client, variants: list[tuple[str, dict]], repeat: int) -> dict:
    """Median and minimum wall time, SQL time and query count of each variant. The variants
    take turns, so a busy machine slows them alike."""
    timings: dict[str, list[float]] = {name: [] for name, _ in variants}
    cpu: dict[str, list[float]] = {name: [] for name, _ in variants}
    sql: dict[str, list[float]] = {name: [] for name, _ in variants}
    queries: dict[str, set[int]] = {name: set() for name, _ in variants}
    for _name, params in variants:
        assert client.get("/usuarios/", params).status_code == 200  # warm-up
    for _ in range(repeat):
        for name, params in variants:
            timer = SqlTimer()
            with connection.execute_wrapper(timer):
                began, began_cpu = time.perf_counter(), time.process_time()
                response = client.get("/usuarios/", params)
                timings[name].append(time.perf_counter() - began)
                cpu[name].append(time.process_time() - began_cpu)
            assert response.status_code == 200, response.status_code
            queries[name].add(timer.count)
            sql[name].append(timer.seconds)
    return {
        name: {
            "median": statistics.median(timings[name]),
            "min": min(timings[name]),
            "cpu": statistics.median(cpu[name]),
            "sql": statistics.median(sql[name]),
            "queries": max(queries[name]),
        }
        for name, _ in variants
    }


def run(sizes: list[int], repeat: int) -> None:
    node = Node.objects.create(name="bench-corp", kind=Node.Kind.CORPORATE, address="10.0.0.1")
    template = Template.objects.get(is_system=True)
    pools = []
    for p in range(POOLS):
        base = Extension.objects.create(
            number=str(4_000_000 + p),
            kind=Extension.Kind.WEBFON,
            node=node,
            template=template,
            site="Sede",
            department="Dpto",
        )
        pools.append(ExtensionPool.objects.create(name=f"Pool {p}", base_extension=base))
    # A host the DEBUG settings allow; no test-environment instrumentation of templates.
    client = staff_client(HTTP_HOST="localhost")

    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    variants = [
        (name, {k: str(pools[1].pk) if v == "__pool__" else v for k, v in params.items()})
        for name, params in VARIANTS
    ]
    results: dict[int, dict] = {}
    loaded = 0
    for size in sorted(sizes):
        began = time.perf_counter()
        load_users(loaded, size, node=node, template=template, pools=pools)
        loaded = size
        print(f"loaded {PortalUser.objects.count()} users in {time.perf_counter() - began:.1f} s")
        results[size] = measure(client, variants, repeat)

    print(
        f"\n{'page':<22} {'users':>7} {'queries':>8} {'median ms':>10} {'min ms':>7} "
        f"{'CPU ms':>7} {'SQL ms':>7}"
    )
    for name, _ in variants:
        for size, by_variant in results.items():
            row = by_variant[name]
            print(
                f"{name:<22} {size:>7} {row['queries']:>8} {row['median'] * 1000:>10.1f} "
                f"{row['min'] * 1000:>7.1f} {row['cpu'] * 1000:>7.1f} {row['sql'] * 1000:>7.1f}"
            )
    print()
    small_n, large_n = min(results), max(results)
    for name, _ in variants:
        small, large = results[small_n][name], results[large_n][name]
        ratio = large["median"] / small["median"]
        verdict = ""
        if name == "lista":
            verdict = " OK (goal <= 1.5)" if ratio <= 1.5 else " OVER the 1.5 goal"
        same = "same" if small["queries"] == large["queries"] else "DIFFERENT"
        print(
            f"{name:<22} median ratio {large_n}/{small_n}: {ratio:.2f}{verdict}; "
            f"min {large['min'] / small['min']:.2f}; CPU {large['cpu'] / small['cpu']:.2f}; "
            f"queries {small['queries']} -> {large['queries']} ({same})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    # A database of its own, so a test run (test_<name>) is never clobbered.
    connection.settings_dict.setdefault("TEST", {})["NAME"] = "portal_bench_users"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        run(args.sizes, args.repeat)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
