"""Benchmark: webfon logins per second against a live server, next to the hasher's bound.

Starts gunicorn (the production WSGI server; 2 processes x 8 threads by default) on a
throw-away MariaDB test database with the real password hasher (Django's PBKDF2), loads
users with fixed webfon extensions, and measures logins per second (each client logs in
and out in a loop) with 1, 10 and 50 concurrent clients. A login is bound by the hash of
the password: the best possible rate is cores ÷ seconds per hash. Prints each rate and its
ratio to that bound (goal: ≥ 0.8 at 50 clients), and every answer that is neither 2xx nor
4xx (5xx, or no answer at all): the goal is none.

    DEBUG=1 .venv/bin/python bench/webfon_login.py [--clients 1 10 50] [--seconds 15]
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
_SUFFIX = f"_{os.environ['BENCH_DB_SUFFIX']}" if os.environ.get("BENCH_DB_SUFFIX") else ""
os.environ.setdefault("DATABASE_URL", f"mysql://root:@127.0.0.1:3306/bench_webfon{_SUFFIX}")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.hashers import check_password, make_password  # noqa: E402
from django.db import connection  # noqa: E402

from core.actors import Actor  # noqa: E402
from extensions.models import Extension  # noqa: E402
from extensions.services import extension_create  # noqa: E402
from licensing.models import LicenseStock  # noqa: E402
from nodes.services import node_create  # noqa: E402
from users.models import PortalUser  # noqa: E402
from webfon.models import WebfonPolicy  # noqa: E402

PASSWORD = "Clave-Bench-2026"
GOAL = 0.8


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post(url: str, payload: dict) -> tuple[int, dict]:
    """(status, JSON body); status 0 when no HTTP answer came (connection error, timeout)."""
    request = urllib.request.Request(  # noqa: S310 (loopback URL)
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except OSError as exc:
        return 0, {"error": repr(exc)}
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, {"raw": raw[:200].decode(errors="replace")}


def answer_class(status: int) -> str:
    return {2: "2xx", 4: "4xx", 5: "5xx"}.get(status // 100, "other")


def seconds_per_hash(samples: int = 5) -> float:
    encoded = make_password(PASSWORD)
    started = time.perf_counter()
    for _ in range(samples):
        check_password(PASSWORD, encoded)
    return (time.perf_counter() - started) / samples


def load_users(count: int) -> list[str]:
    actor = Actor.system("bench")
    LicenseStock.objects.update_or_create(id=1, defaults={"stock": 1_000_000})
    node = node_create(actor=actor, name="bench-corp", kind="corporate")
    encoded = make_password(PASSWORD)  # one real PBKDF2 hash, shared: the check is what counts
    accounts = []
    for n in range(count):
        extension = extension_create(
            actor=actor,
            number=str(7_000_000 + n),
            kind=Extension.Kind.WEBFON,
            node=node,
            site="Bench",
            department="Bench",
        )
        accounts.append(f"bench{n}")
        PortalUser.objects.create(
            account=accounts[-1],
            name=f"Bench {n}",
            webfon_extension=extension,
            max_sessions=10,
            password=encoded,
        )
    # Every client logs in from 127.0.0.1: the per-IP limit must not get in the way.
    WebfonPolicy.objects.update(ip_max_failures=10000, account_max_failures=1000)
    return accounts


def start_server(database_name: str, workers: int, threads: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = dict(os.environ)
    base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    env["DATABASE_URL"] = f"{base}/{database_name}"
    env["DB_CONN_MAX_AGE"] = "60"
    env["LOG_LEVEL"] = "WARNING"
    process = subprocess.Popen(  # noqa: S603 (fixed arguments)
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "portal.wsgi:application",
            f"--bind=127.0.0.1:{port}",
            f"--workers={workers}",
            f"--threads={threads}",
            "--log-level=warning",
            "--backlog=2048",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.1)
    return process, url


def measure(
    url: str, accounts: list[str], clients: int, seconds: float
) -> tuple[float, int, Counter]:
    """Logins per second; every answer (login and logout) counted by class."""
    stop = time.monotonic() + seconds
    counts = [0] * clients
    answers: Counter = Counter()
    examples: list[str] = []
    lock = threading.Lock()

    def note(status: int, body: dict) -> None:
        with lock:
            answers[answer_class(status)] += 1
            if answer_class(status) in ("5xx", "other") and len(examples) < 5:
                examples.append(f"{status} {str(body)[:120]}")

    def client(index: int) -> None:
        account = accounts[index % len(accounts)]
        while time.monotonic() < stop:
            status, body = post(
                url + "/api/v1/webfon/login/", {"account": account, "password": PASSWORD}
            )
            note(status, body)
            if status != 200:
                continue
            counts[index] += 1
            status, body = post(url + "/api/v1/webfon/logout/", {"token": body["token"]})
            note(status, body)

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    for example in examples:
        print(f"  not 2xx/4xx: {example}")
    return sum(counts) / elapsed, sum(counts), answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()

    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    server = None
    try:
        accounts = load_users(max(args.clients))
        cores = os.cpu_count() or 1
        server, url = start_server(connection.settings_dict["NAME"], args.workers, args.threads)
        post(url + "/api/v1/webfon/login/", {"account": "warm-up", "password": "x"})
        print(
            f"hasher: {settings.PASSWORD_HASHERS[0].rsplit('.', 1)[-1]}, {cores} cores; "
            f"gunicorn: {args.workers} workers x {args.threads} threads"
        )
        # The machine is shared: the hash is timed again right before each level, so each
        # rate is compared with the bound of the same moment.
        print(
            f"{'clients':>8} {'logins':>8} {'logins/s':>9} {'ms/hash':>8} {'bound/s':>8} "
            f"{'of bound':>9} {'answers':>8} {'4xx':>6} {'5xx/other':>10}"
        )
        ratio, bad = 0.0, 0
        for clients in args.clients:
            hash_seconds = seconds_per_hash()
            bound = cores / hash_seconds
            rate, total, answers = measure(url, accounts, clients, args.seconds)
            ratio = rate / bound
            bad = answers["5xx"] + answers["other"]
            print(
                f"{clients:>8} {total:>8} {rate:>9.2f} {hash_seconds * 1000:>8.0f} "
                f"{bound:>8.2f} {ratio:>9.2f} {sum(answers.values()):>8} {answers['4xx']:>6} "
                f"{bad:>10}"
            )
        verdict = "meets" if ratio >= GOAL else "misses"
        print(
            f"at {args.clients[-1]} clients: {ratio:.2f} of the hasher's bound "
            f"({verdict} the goal >= {GOAL}); {bad} answers neither 2xx nor 4xx "
            f"({'meets' if bad == 0 else 'misses'} the goal of none)"
        )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
