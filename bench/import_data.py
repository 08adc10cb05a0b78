"""Benchmark: bulk import of extensions and users (preview and apply) at two sizes.

For each size N: a file of N extensions (half webfon, half physical) and a file of N users
(half with a fixed webfon extension of the first file, half on a pool), each previewed (dry
run) and then applied through bulk.services. Prints wall time and SQL queries of each step
and the queries per 1,000 rows, which must not grow with N; goals at 10,000 rows: dry run
≤ 5 s, import ≤ 10 s. Then a file of new users with a ``password`` column (--passwords
rows): a password is hashed with the portal's hasher (PBKDF2, a deliberate fraction of a
second each), so the figures are printed beside one hash's time measured in the same run:
the dry run must not hash (the preview is rolled back), the import hashes on every CPU.
Runs on MariaDB (DATABASE_URL=mysql://root:@127.0.0.1:3306/test) in
a throw-away database.

    DEBUG=1 [BENCH_DB_SUFFIX=me] [CELERY_BROKER_URL=redis://…] .venv/bin/python bench/import_data.py [--sizes 1000 10000]
"""

import argparse
import csv
import io
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DATABASE_URL", "mysql://root:@127.0.0.1:3306/test")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/13")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
# A queue of its own that no worker reads: the pushes are counted, not run, and dropped after.
os.environ["CELERY_QUEUE"] = f"bench-import-{uuid.uuid4().hex[:8]}"

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.db import connection  # noqa: E402

from bulk.services import import_apply, import_preview  # noqa: E402
from core.actors import Actor  # noqa: E402
from extensions.services import extension_create, pool_create, pool_create_range  # noqa: E402
from licensing.models import LicenseStock  # noqa: E402
from nodes.models import Push  # noqa: E402
from nodes.services import node_create  # noqa: E402


def csv_bytes(columns: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=";")
    writer.writerow(columns)
    writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode()


def timed(label: str, size: int, func, **kwargs) -> tuple[float, int, object]:
    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        began = time.perf_counter()
        result = func(**kwargs)
        elapsed = time.perf_counter() - began
    print(
        f"{label:>22} {size:>7} {elapsed:>8.2f} {queries:>8} {queries / size * 1000:>13.0f}"
        f"   {getattr(result, 'totals', '')}"
    )
    if getattr(result, "errors", None):
        raise RuntimeError(f"{label}: {result.errors[:3]}")
    return elapsed, queries, result


def run(sizes: list[int], passwords: int) -> None:
    actor = Actor.system("bench")
    LicenseStock.objects.update_or_create(id=1, defaults={"stock": 10_000_000})
    corporate = node_create(actor=actor, name="bench-corp", kind="corporate")
    node_create(
        actor=actor,
        name="bench-meet",
        kind="webrtc",
        domain="meet.bench.example",
        local_ip="192.0.2.10",
        corporate_node=corporate,
    )
    base = extension_create(
        actor=actor, number="1", kind="webfon", node=corporate, site="Sede", department="D"
    )
    pool = pool_create(actor=actor, name="bench-pool", base_extension=base)
    pool_create_range(actor=actor, pool=pool, first="90000000", last="90000099")
    # Pushes of the setup are finished; count the new ones only.
    Push.objects.all().delete()
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    print(f"{'step':>22} {'rows':>7} {'wall s':>8} {'queries':>8} {'per 1000 rows':>13}   totals")
    start = 10_000_000
    for size in sizes:
        half = size // 2
        webfon = [str(start + i) for i in range(half)]
        physical = [str(start + half + i) for i in range(size - half)]
        rows = [[n, "webfon", "bench-corp", "", "Sede", "Dpto"] for n in webfon] + [
            [n, "physical", "bench-corp", "", "Sede", "Dpto"] for n in physical
        ]
        extensions = csv_bytes(["number", "kind", "node", "template", "site", "department"], rows)
        _t, _q, preview = timed(
            "extensions dry run",
            size,
            import_preview,
            actor=actor,
            kind="extensions",
            content=extensions,
        )
        timed("extensions import", size, import_apply, actor=actor, import_=preview)
        users = [[f"b{start}-{i}", f"Usuario {i}", n, ""] for i, n in enumerate(webfon)] + [
            [f"b{start}-p{i}", f"Usuario p{i}", "", "bench-pool"] for i in range(size - half)
        ]
        content = csv_bytes(["account", "name", "webfon_extension", "pool"], users)
        _t, _q, preview = timed(
            "users dry run", size, import_preview, actor=actor, kind="users", content=content
        )
        pushes = Push.objects.count()
        timed("users import", size, import_apply, actor=actor, import_=preview)
        print(f"{'':>22} new pushes after the users import: {Push.objects.count() - pushes}")
        start += size
    if passwords:
        password_rows(actor, passwords, start)


def password_rows(actor: Actor, size: int, start: int) -> None:
    """New users with a password each: the dry run and the import against one hash's time."""
    began = time.perf_counter()
    make_password("Bench-clave-1")
    one_hash = time.perf_counter() - began
    users = [[f"b{start}-k{i}", f"Usuario k{i}", f"Bench-clave-{i}"] for i in range(size)]
    content = csv_bytes(["account", "name", "password"], users)
    dry, _q, preview = timed(
        "passwords dry run", size, import_preview, actor=actor, kind="users", content=content
    )
    applied, _q, _result = timed(
        "passwords import", size, import_apply, actor=actor, import_=preview
    )
    serial = size * one_hash
    print(
        f"{'':>22} one password hash: {one_hash:.3f} s ({size} in a row: {serial:.1f} s); dry run "
        f"{dry / serial:.0%} of that, import {applied / serial:.0%} (hashed on "
        f"{os.cpu_count()} CPUs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument(
        "--passwords", type=int, default=200, help="new users with a password (0: none)"
    )
    args = parser.parse_args()
    if connection.vendor != "mysql" or not settings.CELERY_BROKER_URL:
        sys.exit("needs DATABASE_URL=mysql://… and CELERY_BROKER_URL=redis://…")
    suffix = os.environ.get("BENCH_DB_SUFFIX", "")
    connection.settings_dict.setdefault("TEST", {})["NAME"] = "portal_bench_import" + (
        f"_{suffix}" if suffix else ""
    )
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        run(args.sizes, args.passwords)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        import redis

        redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(settings.CELERY_TASK_DEFAULT_QUEUE)


if __name__ == "__main__":
    main()
