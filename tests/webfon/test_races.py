"""Webfon logins racing through a live server: attempt limits, TOTP replay, and (on
MariaDB) 200 users sharing a pool of 25."""

import json
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pyotp
import pytest
from django.db import connection

from core.actors import Actor
from extensions.models import Extension
from tests.factories import (
    PoolFactory,
    PortalUserFactory,
    WebfonExtensionFactory,
    WebrtcNodeFactory,
)
from tests.webfon.conftest import PASSWORD
from tests.webfon.smtp_server import start_smtp_server
from users.models import PortalUser
from users.services import portal_user_totp_begin, portal_user_totp_confirm
from webfon.models import (
    LoginChallenge,
    LoginOutcomeHour,
    LoginThrottle,
    WebfonPolicy,
    WebfonSession,
)

# SQLite's in-memory test database locks whole tables without waiting: the races run in
# the MariaDB pass, against the row locks production relies on.
pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.mariadb,
]
LOGIN, PIN, LOGOUT = "/api/v1/webfon/login/", "/api/v1/webfon/login/pin/", "/api/v1/webfon/logout/"


def post(base_url: str, path: str, payload: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        base_url + path,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        body = exc.read()
        try:
            return exc.code, json.loads(body)
        except ValueError:
            raise AssertionError(f"{exc.code}: {body[:300]!r}") from None


def race(count: int, call) -> list:
    """Start ``count`` threads that wait for each other, then call at once."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = call(index)
        except Exception as exc:  # reported by the assertion below
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors[:3]
    return results


def _user(**fields) -> PortalUser:
    from users.services import portal_user_set_password

    user = PortalUserFactory(**fields)
    portal_user_set_password(actor=Actor.system("tests"), user=user, password=PASSWORD)
    return user


def test_parallel_wrong_passwords_never_pass_the_limit(live_server, licences, monkeypatch):
    """50 parallel bad attempts on one account with a limit of 5: at most 5 reach the hasher."""
    from webfon import services

    WebfonPolicy.objects.update(account_max_failures=5, ip_max_failures=1000)
    user = _user(webfon_extension=WebfonExtensionFactory())
    checked = []
    real = services._check_suite

    def counting(u, password):
        checked.append(1)
        return real(u, password)

    monkeypatch.setattr(services, "_check_suite", counting)
    answers = race(
        50, lambda i: post(live_server.url, LOGIN, {"account": user.account, "password": "mal"})
    )
    reasons = [body["reason"] for _status, body in answers]
    assert reasons.count("bad_credentials") <= 5 and len(checked) <= 5
    assert reasons.count("locked") >= 45
    assert LoginThrottle.objects.get(scope="account").attempts == 5


def test_pin_attempts_are_counted_under_a_race(live_server, licences):
    controller, mailbox = start_smtp_server()
    try:
        WebrtcNodeFactory(smtp_host="127.0.0.1", smtp_port=controller.port)
        WebfonPolicy.objects.update(pin_max_attempts=5)
        user = _user(
            webfon_extension=WebfonExtensionFactory(),
            second_factor="email",
            email="agente@aytoarga.es",
        )
        _status, first = post(
            live_server.url, LOGIN, {"account": user.account, "password": PASSWORD}
        )
        pin = mailbox.last_pin()
        wrong = "000000" if pin != "000000" else "111111"
        answers = race(
            20,
            lambda i: post(live_server.url, PIN, {"challenge": first["challenge"], "pin": wrong}),
        )
        assert sum(1 for _s, body in answers if body["reason"] == "bad_pin") <= 5
        assert LoginChallenge.objects.get().attempts <= 5
    finally:
        controller.stop()


def test_same_totp_code_racing_passes_once(live_server, licences):
    user = _user(webfon_extension=WebfonExtensionFactory(), max_sessions=5)
    actor = Actor.system("tests")
    secret = pyotp.parse_uri(portal_user_totp_begin(actor=actor, user=user)).secret
    totp = pyotp.TOTP(secret)
    portal_user_totp_confirm(actor=actor, user=user, code=totp.at(time.time() - 30))
    PortalUser.objects.filter(pk=user.pk).update(second_factor="totp")
    # Two logins, each with its own challenge, then the same code on both at once.
    challenges = []
    for _ in range(2):
        user.refresh_from_db()
        _s, body = post(live_server.url, LOGIN, {"account": user.account, "password": PASSWORD})
        challenges.append(body["challenge"])
        LoginChallenge.objects.update(consumed_at=None)  # keep the first one open too
    code = totp.now()
    answers = race(
        2, lambda i: post(live_server.url, PIN, {"challenge": challenges[i], "pin": code})
    )
    assert sorted(body.get("status") for _s, body in answers) == ["ok", "refused"]
    assert WebfonSession.objects.count() == 1


def test_200_logins_share_a_pool_of_25(live_server, licences):
    """Exactly 25 of 200 simultaneous logins get a member, all different; the rest pool_full;
    no 5xx; after logout the pool is entirely free."""
    assert connection.vendor == "mysql", "this test needs MariaDB (run with DATABASE_URL)"
    WebfonPolicy.objects.update(ip_max_failures=10000, account_max_failures=1000)
    pool = PoolFactory()
    for _ in range(25):
        WebfonExtensionFactory(pool=pool, node=pool.base_extension.node)
    users = [_user(pool=pool) for _ in range(200)]
    with ThreadPoolExecutor(max_workers=100) as executor:
        answers = list(
            executor.map(
                lambda u: post(
                    live_server.url, LOGIN, {"account": u.account, "password": PASSWORD}
                ),
                users,
            )
        )
    statuses = [status for status, _body in answers]
    assert all(status < 500 for status in statuses), statuses
    ok = [body for status, body in answers if status == 200]
    full = [body for status, body in answers if status == 409]
    assert len(ok) == 25 and len(full) == 175, sorted(set(statuses))
    assert all(body["reason"] == "pool_full" for body in full)
    members = set(pool.members.values_list("number", flat=True))
    assert {body["mobility_extension"] for body in ok} == members
    with ThreadPoolExecutor(max_workers=25) as executor:
        outs = list(
            executor.map(lambda b: post(live_server.url, LOGOUT, {"token": b["token"]}), ok)
        )
    assert all(status == 200 for status, _ in outs)
    assert Extension.objects.filter(pool=pool, pool_session__isnull=True).count() == 25
    assert not WebfonSession.objects.filter(state="active").exists()


def test_hourly_login_counters_are_exact_under_50_concurrent_logins(live_server, licences):
    """50 logins at once (30 users for a pool of 20, 20 wrong passwords): the hourly counters
    add up to exactly what was answered, in one row per outcome."""
    WebfonPolicy.objects.update(account_max_failures=1000, ip_max_failures=1000)
    pool = PoolFactory()
    for _ in range(20):
        WebfonExtensionFactory(pool=pool, node=pool.base_extension.node)
    pooled = [_user(pool=pool) for _ in range(30)]
    fixed = [_user(webfon_extension=WebfonExtensionFactory()) for _ in range(20)]

    def attempt(index: int):
        if index < 30:
            return post(
                live_server.url, LOGIN, {"account": pooled[index].account, "password": PASSWORD}
            )
        return post(
            live_server.url, LOGIN, {"account": fixed[index - 30].account, "password": "mal"}
        )

    answers = race(50, attempt)
    answered: dict[str, int] = {}
    for _status, body in answers:
        outcome = body.get("reason", "ok")
        answered[outcome] = answered.get(outcome, 0) + 1
    assert answered == {"ok": 20, "pool_full": 10, "bad_credentials": 20}
    counted: dict[str, int] = {}
    for outcome, count in LoginOutcomeHour.objects.values_list("outcome", "count"):
        counted[outcome] = counted.get(outcome, 0) + count
    assert counted == answered
    assert LoginOutcomeHour.objects.filter(pool_ref=pool.pk).count() == 2
