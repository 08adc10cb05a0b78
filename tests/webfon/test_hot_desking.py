"""Hot-desking policies of a pool (maximum session time, daily release, what a second login
gets), enforced by the login and by the beat's sweep, with the clock moved by time_machine."""

import datetime
import zoneinfo

import pytest
import time_machine

from extensions.models import ExtensionPool
from webfon.models import WebfonSession
from webfon.tasks import webfon_sessions_expire_task

MADRID = zoneinfo.ZoneInfo("Europe/Madrid")
T = datetime.datetime(2026, 6, 10, 9, 0, tzinfo=MADRID)
LOGOUT = "/api/v1/webfon/logout/"


def minutes(n: float) -> datetime.datetime:
    return T + datetime.timedelta(minutes=n)


@pytest.fixture
def policy_pool(pool_of):
    def _pool(size=1, **policy):
        pool = pool_of(size)
        ExtensionPool.objects.filter(pk=pool.pk).update(**policy)
        pool.refresh_from_db()
        return pool

    return _pool


def _session(user) -> WebfonSession:
    return WebfonSession.objects.filter(user=user).order_by("-id").first()


def test_maximum_session_time_ended_by_the_sweep(login, make_user, policy_pool):
    pool = policy_pool(max_session_minutes=30)
    user, other = make_user(pool=pool), make_user(pool=pool)
    with time_machine.travel(T, tick=False):
        answer = login(user.account).json()
    # The token itself ends with the maximum time, not the policy's hour.
    assert datetime.datetime.fromisoformat(answer["expires_at"]) == minutes(30)
    with time_machine.travel(minutes(29), tick=False):
        webfon_sessions_expire_task()
        assert _session(user).state == "active"
        assert login(other.account).json()["reason"] == "pool_full"
    with time_machine.travel(minutes(30), tick=False):
        webfon_sessions_expire_task()
    ended = _session(user)
    assert (ended.state, ended.end_reason, ended.pool_extension_id) == ("ended", "max_time", None)
    with time_machine.travel(minutes(31), tick=False):
        assert login(other.account).status_code == 200


def test_maximum_session_time_enforced_by_the_login(login, make_user, policy_pool):
    """Before the sweep runs: the next login in the pool ends the overdue session."""
    pool = policy_pool()
    user, other = make_user(pool=pool), make_user(pool=pool)
    with time_machine.travel(T, tick=False):
        login(user.account)
    # The policy is set afterwards: the session's token still runs for an hour.
    ExtensionPool.objects.filter(pk=pool.pk).update(max_session_minutes=20)
    with time_machine.travel(minutes(25), tick=False):
        assert login(other.account).status_code == 200
    assert _session(user).end_reason == "max_time"


def test_daily_release_time(login, make_user, policy_pool):
    pool = policy_pool(size=2, daily_release_time=datetime.time(9, 30))
    early, late = make_user(pool=pool), make_user(pool=pool)
    with time_machine.travel(T, tick=False):
        answer = login(early.account).json()
    assert datetime.datetime.fromisoformat(answer["expires_at"]) == minutes(30)
    with time_machine.travel(minutes(29), tick=False):
        webfon_sessions_expire_task()
    assert _session(early).state == "active"
    with time_machine.travel(minutes(31), tick=False):
        login(late.account)
        webfon_sessions_expire_task()
    assert (_session(early).state, _session(early).end_reason) == ("ended", "release")
    # Started after the release: it lasts until tomorrow's (or its token's end).
    assert _session(late).state == "active"
    with time_machine.travel(T + datetime.timedelta(days=1, minutes=31), tick=False):
        WebfonSession.objects.filter(pk=_session(late).pk).update(
            expires_at=T + datetime.timedelta(days=2)
        )
        webfon_sessions_expire_task()
    assert _session(late).end_reason == "release"


def test_relogin_reuse_gives_the_same_member_a_new_token(
    login, make_user, policy_pool, webfon_client
):
    pool = policy_pool(size=2, max_session_minutes=60, relogin="reuse")
    user = make_user(pool=pool, max_sessions=1)
    with time_machine.travel(T, tick=False):
        first = login(user.account).json()
    with time_machine.travel(minutes(40), tick=False):
        second = login(user.account).json()
        assert second["mobility_extension"] == first["mobility_extension"]
        assert second["token"] != first["token"]
        # The old token no longer works; one session, one member.
        assert (
            webfon_client.post(LOGOUT, {"token": first["token"]}).json()["reason"]
            == "invalid_token"
        )
        assert WebfonSession.objects.filter(user=user, state="active").count() == 1
    # The maximum time counts from the first login.
    assert datetime.datetime.fromisoformat(second["expires_at"]) == minutes(60)
    with time_machine.travel(minutes(60), tick=False):
        webfon_sessions_expire_task()
    assert _session(user).end_reason == "max_time"


def test_relogin_refuse(login, make_user, policy_pool):
    pool = policy_pool(size=2, relogin="refuse")
    user = make_user(pool=pool, max_sessions=2)
    with time_machine.travel(T, tick=False):
        first = login(user.account).json()
        again = login(user.account)
    assert again.status_code == 409
    body = again.json()
    assert body["reason"] == "already_logged_in"
    assert first["mobility_extension"] in body["detail"]
    assert WebfonSession.objects.filter(user=user, state="active").count() == 1


def test_relogin_replace(login, make_user, policy_pool, browser_for, api):
    pool = policy_pool(size=1, relogin="replace")
    user = make_user(pool=pool)
    with time_machine.travel(T, tick=False):
        login(user.account)
    old = _session(user)
    with time_machine.travel(minutes(5), tick=False):
        assert login(user.account).status_code == 200
    old.refresh_from_db()
    assert (old.state, old.end_reason) == ("ended", "replaced")
    assert _session(user).state == "active" and _session(user).pk != old.pk
    # The reason is on the sessions page and in the API.
    html = browser_for().get("/webfon/sesiones/").content.decode()
    assert (
        '<tr data-reason="replaced">' in html and "Sustituida por un nuevo inicio de sesión" in html
    )
    listed = api.get("/api/v1/webfon/sessions/?state=ended").json()["results"]
    assert [(s["end_reason"], s["pool"]) for s in listed] == [("replaced", pool.pk)]


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("max_session_minutes", 0, "max_session_minutes"),
        ("relogin", "otro", "relogin"),
        ("daily_release_time", "25:00", "daily_release_time"),
    ],
)
def test_policy_is_checked_at_write_time(api, pool_of, field, value, named):
    pool = pool_of(1)
    answer = api.patch(f"/api/v1/pools/{pool.pk}/", {field: value}, format="json")
    assert answer.status_code == 400
    assert named in answer.json()
    pool.refresh_from_db()
    assert (pool.max_session_minutes, pool.relogin, pool.daily_release_time) == (
        None,
        "reuse",
        None,
    )


def test_policy_through_the_api(api, pool_of):
    pool = pool_of(1)
    answer = api.patch(
        f"/api/v1/pools/{pool.pk}/",
        {"max_session_minutes": 480, "daily_release_time": "03:00", "relogin": "replace"},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    pool.refresh_from_db()
    assert (pool.max_session_minutes, pool.daily_release_time, pool.relogin) == (
        480,
        datetime.time(3, 0),
        "replace",
    )
