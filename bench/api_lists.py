"""Benchmark: a 100-row page of the API lists /api/v1/users/ and /api/v1/extensions/.

Loads 10,000 users and 10,000 extensions in bulk into a throw-away test database
(portal_bench_api), then, for each list, times GET <list>?limit=100 through the whole stack
(django.test.Client in-process, an administrador's API token: middleware, authentication,
permissions, filters, pagination with its COUNT, serializer, JSON renderer) against a raw
equivalent: Model.objects.values(<the same columns>)[:100] in the same order plus
json.dumps(default=str) of those rows. Prints the median of each over --repeat runs (they
take turns, so a busy machine slows them alike), their ratio (goal <= 4), the minimum and
the process CPU time (steadier figures on a busy machine) and the SQL queries per request.
Runs on MariaDB by default (DATABASE_URL=mysql://root:@127.0.0.1:3306/test).

    DEBUG=1 [BENCH_DB_SUFFIX=me] .venv/bin/python bench/api_lists.py [--rows 10000] [--repeat 30]
"""

import argparse
import json
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

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from core.actors import Actor  # noqa: E402
from core.roles import ROLE_ADMIN  # noqa: E402
from extensions.models import Extension, ExtensionPool, Template  # noqa: E402
from nodes.models import Node  # noqa: E402
from portal.services import api_token_create  # noqa: E402
from users.models import PortalUser  # noqa: E402

PAGE = 100
POOLS = 10
GOAL = 4.0

# Each list: its URL, the model, the order of the viewset, and the columns the serializer
# reads (has_password and totp_enabled come from password and totp_confirmed_at).
LISTS = [
    (
        "/api/v1/users/",
        PortalUser,
        ["account"],
        [
            "id",
            "account",
            "name",
            "email",
            "mobile",
            "validation",
            "second_factor",
            "login_number",
            "webfon_extension",
            "pool",
            "max_sessions",
            "password",
            "totp_confirmed_at",
            "created_at",
            "updated_at",
        ],
    ),
    (
        "/api/v1/extensions/",
        Extension,
        ["number"],
        [
            "id",
            "number",
            "kind",
            "node",
            "template",
            "site",
            "department",
            "owner",
            "pool",
            "created_at",
            "updated_at",
        ],
    ),
]


def load(rows: int) -> None:
    """rows users and rows extensions (plus the pools' base extensions): a third of the
    extensions webfon, the others physical, one in two owned by a user; half the users in
    a pool, one in ten with a fixed webfon extension."""
    node = Node.objects.create(name="bench-corp", kind=Node.Kind.CORPORATE, address="10.0.0.1")
    template = Template.objects.get(is_system=True)
    pools = []
    for p in range(POOLS):
        base = Extension.objects.create(
            number=str(9_000_000 + p),
            kind=Extension.Kind.WEBFON,
            node=node,
            template=template,
            site="Sede",
            department="Dpto",
        )
        pools.append(ExtensionPool.objects.create(name=f"Pool {p}", base_extension=base))

    webfon = {i for i in range(rows) if i % 3 == 0}
    Extension.objects.bulk_create(
        [
            Extension(
                number=str(1_000_000 + i),
                kind=Extension.Kind.WEBFON if i in webfon else Extension.Kind.PHYSICAL,
                node=node,
                template=template if i in webfon else None,
                site=f"Sede {i % 7}",
                department=f"Departamento {i % 13}",
            )
            for i in range(rows)
        ],
        batch_size=1000,
    )
    # Primary keys read back: not every backend returns them from a bulk insert.
    extension_pk = dict(Extension.objects.filter(number__gte="1000000").values_list("number", "pk"))
    PortalUser.objects.bulk_create(
        [
            PortalUser(
                account=f"user{i:05d}",
                name=f"User {i:05d} Apellido{i % 97}",
                email=f"user{i:05d}@example.com",
                login_number=str(100_000 + i),
                validation=("suite", "ldap", "both", "disabled")[i % 4],
                second_factor="email" if i % 5 == 0 else "none",
                webfon_extension_id=(
                    extension_pk[str(1_000_000 + i)] if i % 10 == 0 and i in webfon else None
                ),
                pool=pools[i % POOLS] if i % 10 in (1, 2, 3, 4, 5) else None,
            )
            for i in range(rows)
        ],
        batch_size=1000,
    )
    user_pk = dict(PortalUser.objects.values_list("account", "pk"))
    owned = [
        Extension(pk=extension_pk[str(1_000_000 + i)], owner_id=user_pk[f"user{i:05d}"])
        for i in range(rows)
        if i not in webfon and i % 2 == 0
    ]
    Extension.objects.bulk_update(owned, ["owner"], batch_size=1000)
    refresh_statistics()


def refresh_statistics() -> None:
    """Up-to-date planner statistics, as the server keeps them a little after a bulk load."""
    tables = [model._meta.db_table for model in (PortalUser, Extension, ExtensionPool)]
    with connection.cursor() as cursor:
        if connection.vendor == "mysql":
            cursor.execute(f"ANALYZE TABLE {', '.join(tables)}")
            cursor.fetchall()
        elif connection.vendor == "sqlite":
            cursor.execute("ANALYZE")


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def api_page(client: Client, url: str) -> bytes:
    response = client.get(url, {"limit": PAGE})
    assert response.status_code == 200, (response.status_code, response.content[:300])
    return response.content


def raw_page(model, ordering: list[str], fields: list[str]) -> str:
    return json.dumps(list(model.objects.order_by(*ordering).values(*fields)[:PAGE]), default=str)


def timed(func, *args) -> tuple[float, float, int]:
    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        began, began_cpu = time.perf_counter(), time.process_time()
        func(*args)
        return time.perf_counter() - began, time.process_time() - began_cpu, counter.count


def measure(client: Client, repeat: int) -> list[dict]:
    results = []
    for url, model, ordering, fields in LISTS:
        body = json.loads(api_page(client, url))  # warm-up, and a check of the page
        assert body["count"] == model.objects.count() and len(body["results"]) == PAGE, body
        raw_page(model, ordering, fields)
        api, raw = (
            {"wall": [], "cpu": [], "queries": set()},
            {"wall": [], "cpu": [], "queries": set()},
        )
        for _ in range(repeat):
            for target, func, args in (
                (api, api_page, (client, url)),
                (raw, raw_page, (model, ordering, fields)),
            ):
                wall, cpu, queries = timed(func, *args)
                target["wall"].append(wall)
                target["cpu"].append(cpu)
                target["queries"].add(queries)
        results.append({"url": url, "rows": model.objects.count(), "api": api, "raw": raw})
    return results


def queries_text(counts: set[int]) -> str:
    return str(min(counts)) if len(counts) == 1 else f"{min(counts)}-{max(counts)}"


def report(results: list[dict], repeat: int) -> None:
    print(
        f"\nGET <list>?limit={PAGE}, {repeat} runs each; raw = values(same columns)[:{PAGE}] + json.dumps\n"
    )
    header = (
        f"{'list':<20} {'rows':>6} {'':<4} {'queries':>7} {'median ms':>10} {'min ms':>7} "
        f"{'CPU ms':>7}"
    )
    print(header)
    print("-" * len(header))
    for row in results:
        for name in ("api", "raw"):
            data = row[name]
            print(
                f"{row['url'] if name == 'api' else '':<20} {row['rows'] if name == 'api' else '':>6} "
                f"{name:<4} {queries_text(data['queries']):>7} "
                f"{statistics.median(data['wall']) * 1000:>10.2f} {min(data['wall']) * 1000:>7.2f} "
                f"{statistics.median(data['cpu']) * 1000:>7.2f}"
            )
    print()
    for row in results:
        api, raw = row["api"], row["raw"]
        ratio = statistics.median(api["wall"]) / statistics.median(raw["wall"])
        verdict = f"OK (goal <= {GOAL:g})" if ratio <= GOAL else f"OVER the {GOAL:g} goal"
        print(
            f"{row['url']:<20} api/raw median {ratio:5.2f}  {verdict}; "
            f"min {min(api['wall']) / min(raw['wall']):.2f}; "
            f"CPU {statistics.median(api['cpu']) / statistics.median(raw['cpu']):.2f}"
        )


def run(rows: int, repeat: int) -> None:
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    began = time.perf_counter()
    load(rows)
    print(
        f"loaded {PortalUser.objects.count()} users and {Extension.objects.count()} extensions "
        f"in {time.perf_counter() - began:.1f} s"
    )
    staff = get_user_model().objects.create(username="bench-admin", is_active=True)
    staff.groups.add(Group.objects.get(name=ROLE_ADMIN))
    _token, key = api_token_create(actor=Actor.system("bench"), user=staff)
    # A host the DEBUG settings allow.
    client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Token {key}")
    report(measure(client, repeat), repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000, help="users and extensions to load")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    # A database of its own, so a test run (test_<name>) is never clobbered.
    # BENCH_DB_SUFFIX keeps benches run at the same time by several people apart.
    suffix = os.environ.get("BENCH_DB_SUFFIX", "")
    connection.settings_dict.setdefault("TEST", {})["NAME"] = "portal_bench_api" + (
        f"_{suffix}" if suffix else ""
    )
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        run(args.rows, args.repeat)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
