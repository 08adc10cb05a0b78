"""Soak on MariaDB: 50 clients for 60 s mixing webfon logins, logouts, forced logouts and
user edits through a live server. InnoDB picks deadlock victims among them (the row locks
of allocation, logout and the user edits that end sessions cross); every one is run again
(core.transactions) and no answer is a 5xx."""

import json
import logging
import random
import threading
import time
import urllib.error
import urllib.request
from collections import Counter

import pytest
from django.db import connection

from core.actors import Actor
from core.roles import ROLE_ADMIN
from portal.services import api_token_create
from tests.factories import PoolFactory, PortalUserFactory, StaffUserFactory, WebfonExtensionFactory
from tests.webfon.conftest import PASSWORD
from users.models import PortalUser
from users.services import portal_user_set_password
from webfon.models import WebfonPolicy, WebfonSession

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.mariadb,
]
CLIENTS = 50
SECONDS = 60
POOL_SIZE = 25
POOL_USERS = 60
FIXED_USERS = 20


def call(base_url: str, method: str, path: str, payload=None, token: str = "") -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    request = urllib.request.Request(
        base_url + path,
        data=json.dumps(payload).encode() if payload is not None else None,
        headers=headers,
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            body = response.read()
            return response.status, json.loads(body) if body else {}
    except urllib.error.HTTPError as exc:
        body = exc.read()
        try:
            return exc.code, json.loads(body) if body else {}
        except ValueError:
            return exc.code, {"raw": body[:300].decode(errors="replace")}


@pytest.fixture
def population(licences):
    """A pool of 25 shared by 60 users, 20 users with a fixed extension each and a spare
    webfon extension per pool user for the edits that move them off the pool."""
    WebfonPolicy.objects.update(ip_max_failures=10_000, account_max_failures=1_000)
    actor = Actor.system("tests")
    pool = PoolFactory()
    node = pool.base_extension.node
    for _ in range(POOL_SIZE):
        WebfonExtensionFactory(pool=pool, node=node)
    users = []
    for n in range(POOL_USERS + FIXED_USERS):
        fixed = WebfonExtensionFactory(node=node) if n >= POOL_USERS else None
        user = PortalUserFactory(
            account=f"soak{n}", pool=None if fixed else pool, webfon_extension=fixed, max_sessions=2
        )
        portal_user_set_password(actor=actor, user=user, password=PASSWORD)
        users.append(user)
    spares = {user.pk: WebfonExtensionFactory(node=node).pk for user in users[:POOL_USERS]}
    _token, key = api_token_create(actor=actor, user=StaffUserFactory(role=ROLE_ADMIN))
    return {"pool": pool, "users": users, "spares": spares, "admin": key}


def test_fifty_clients_for_a_minute_never_get_a_5xx(live_server, population, caplog):
    assert connection.vendor == "mysql", "this test needs MariaDB (run with DATABASE_URL)"
    caplog.set_level(logging.INFO, logger="portal.db")
    url, admin = live_server.url, population["admin"]
    accounts = [user.account for user in population["users"]]
    editable = [(user.pk, population["spares"][user.pk]) for user in population["users"][:20]]
    pool_id = population["pool"].pk
    deadline = time.monotonic() + SECONDS
    answers: Counter[tuple[str, int]] = Counter()
    failures: list[str] = []
    lock = threading.Lock()

    def record(action: str, status: int, body: dict) -> None:
        with lock:
            answers[(action, status)] += 1
            if status >= 500:
                failures.append(f"{action} {status} {str(body)[:200]}")

    def client(index: int) -> None:
        rng = random.Random(index)  # a fixed mix per client: the run is reproducible
        tokens: list[str] = []
        while time.monotonic() < deadline:
            roll = rng.random()
            try:
                if roll < 0.45 or not tokens:
                    status, body = call(
                        url,
                        "POST",
                        "/api/v1/webfon/login/",
                        {"account": rng.choice(accounts), "password": PASSWORD},
                    )
                    record("login", status, body)
                    if status == 200:
                        tokens.append(body["token"])
                elif roll < 0.70:
                    token = tokens.pop(rng.randrange(len(tokens)))
                    status, body = call(url, "POST", "/api/v1/webfon/logout/", {"token": token})
                    record("logout", status, body)
                elif roll < 0.85:
                    status, body = call(
                        url, "GET", "/api/v1/webfon/sessions/?limit=10", token=admin
                    )
                    record("sessions", status, body)
                    rows = body.get("results") or []
                    if rows:
                        session = rng.choice(rows)["id"]
                        status, body = call(
                            url, "DELETE", f"/api/v1/webfon/sessions/{session}/", token=admin
                        )
                        record("forced_logout", status, body)
                else:
                    user_id, spare = rng.choice(editable)
                    # Off the pool onto a fixed extension, or back (each ends the user's
                    # sessions and asks for a push), or a plain edit.
                    change = rng.choice(
                        [
                            {"pool": None, "webfon_extension": spare},
                            {"webfon_extension": None, "pool": pool_id},
                            {"max_sessions": rng.choice([1, 2, 3])},
                        ]
                    )
                    status, body = call(
                        url, "PATCH", f"/api/v1/users/{user_id}/", change, token=admin
                    )
                    record("user_edit", status, body)
            except OSError as exc:  # the server dropped the connection: as bad as a 5xx
                with lock:
                    failures.append(f"connection: {exc!r}")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    retries = Counter(
        r.getMessage().split()[1] for r in caplog.records if r.getMessage().startswith("db.retry")
    )
    summary = ", ".join(f"{a} {s}: {n}" for (a, s), n in sorted(answers.items()))
    summary += f"\ntransactions run again: {dict(retries) or 'none'}"
    print(summary)  # shown with -s: what the minute did
    assert not failures, f"{len(failures)} failures: {failures[:5]}\n{summary}"
    for action in ("login", "logout", "forced_logout", "user_edit"):
        ok = sum(n for (a, s), n in answers.items() if a == action and 200 <= s < 300)
        assert ok >= 10, f"too few successful {action}: {summary}"
    # What the answers said is what the database holds: no member held by two sessions.
    held = list(
        WebfonSession.objects.filter(state="active", pool_extension__isnull=False).values_list(
            "pool_extension_id", flat=True
        )
    )
    assert len(held) == len(set(held))
    assert PortalUser.objects.count() == POOL_USERS + FIXED_USERS
