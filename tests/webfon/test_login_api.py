"""POST /api/v1/webfon/login/ and logout: password check, refusals, mobility extensions,
throttling and the fail2ban log (manual §5.2.1, §5.2.5, §7)."""

import datetime

import pytest
from django.db import OperationalError
from django.utils import timezone

from core.actors import Actor
from core.roles import ROLE_OPERATOR
from extensions.models import Extension
from tests.webfon.conftest import PASSWORD
from users.models import PortalUser
from users.services import portal_user_update
from webfon import services
from webfon.models import LoginThrottle, WebfonPolicy, WebfonSession
from webfon.services import webfon_sessions_purge
from webfon.tasks import webfon_sessions_expire_task

pytestmark = pytest.mark.django_db
LOGIN = "/api/v1/webfon/login/"
LOGOUT = "/api/v1/webfon/logout/"


def test_right_password_gives_a_token_and_the_fixed_extension(login, make_user):
    user = make_user()
    response = login(user.account)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok"
    assert body["mobility_extension"] == user.webfon_extension.number
    assert len(body["token"]) >= 43  # 32 random bytes, URL-safe base64
    session = WebfonSession.objects.get()
    assert session.token_digest != body["token"] and body["token"] not in session.token_digest
    assert session.client_ip == "203.0.113.7" and session.application == "webfon"
    expires = datetime.datetime.fromisoformat(body["expires_at"])
    assert abs((expires - timezone.now()).total_seconds() - 3600) < 60


def test_unknown_account_wrong_and_empty_password_answer_the_same(login, make_user, auth_log):
    user = make_user()
    answers = [login("nadie"), login(user.account, "incorrecta"), login(user.account, "")]
    assert {a.status_code for a in answers} == {401}
    assert len({a.content for a in answers}) == 1
    assert answers[0].json()["reason"] == "bad_credentials"
    lines = auth_log.read_text().splitlines()
    assert [line.split("] ")[1].split()[0] for line in lines] == [
        "unknown_account",
        "bad_password",
        "empty_password",
    ]
    assert all(" TRUCO_KO [203.0.113.7] " in line and line.startswith("!") for line in lines)
    assert not WebfonSession.objects.exists()


def test_account_is_case_insensitive(login, make_user):
    user = make_user(account="Agente7")
    assert login("agente7").status_code == 200
    assert WebfonSession.objects.get().user == user


def test_disabled_user_is_refused_only_with_the_right_password(login, make_user):
    user = make_user(validation=PortalUser.Validation.DISABLED)
    assert login(user.account).json()["reason"] == "disabled"
    assert login(user.account).status_code == 403
    assert login(user.account, "otra").json()["reason"] == "bad_credentials"


def test_user_without_webfon_extension_or_pool(login, make_user):
    user = make_user(fixed=False)
    response = login(user.account)
    assert response.status_code == 409
    assert response.json()["reason"] == "no_webfon_extension"


def test_expired_password(login, make_user):
    user = make_user()
    PortalUser.objects.filter(pk=user.pk).update(
        password_changed_at=timezone.now() - datetime.timedelta(days=91)
    )
    response = login(user.account)
    assert (response.status_code, response.json()["reason"]) == (403, "password_expired")
    WebfonPolicy.objects.update(password_validity_days=0)  # 0: never expires
    assert login(user.account).status_code == 200


def test_password_policy_applies_when_setting_a_password(api, make_user):
    user = make_user()
    WebfonPolicy.objects.update(
        password_min_length=10,
        password_require_digits=True,
        password_require_upper=True,
        password_require_lower=True,
        password_require_special=True,
    )
    response = api.post(f"/api/v1/users/{user.pk}/password/", {"password": "corta"})
    assert response.status_code == 400
    messages = " ".join(response.json()["password"])
    for rule in ("10 caracteres", "número", "mayúscula", "carácter especial"):
        assert rule in messages
    assert "corta" not in messages
    ok = api.post(f"/api/v1/users/{user.pk}/password/", {"password": "Buena-Clave-2026"})
    assert ok.status_code == 204


def test_max_sessions(login, make_user):
    user = make_user(max_sessions=2)
    assert login(user.account).status_code == 200
    assert login(user.account).status_code == 200
    third = login(user.account)
    assert third.status_code == 409
    assert third.json()["reason"] == "too_many_sessions"
    assert third.json()["max_sessions"] == 2


def test_pool_hands_out_distinct_members_then_pool_full(login, make_user, pool_of):
    pool = pool_of(3)
    users = [make_user(pool=pool) for _ in range(4)]
    numbers = [login(u.account).json().get("mobility_extension") for u in users[:3]]
    assert len(set(numbers)) == 3
    assert set(numbers) == set(pool.members.values_list("number", flat=True))
    full = login(users[3].account)
    assert full.status_code == 409
    assert full.json()["reason"] == "pool_full"
    assert full.json()["pool"] == {"name": pool.name, "size": 3, "in_use": 3}


def test_base_extension_is_not_handed_out_unless_a_member(login, make_user, pool_of):
    pool = pool_of(1)
    users = [make_user(pool=pool) for _ in range(2)]
    assert login(users[0].account).json()["mobility_extension"] != pool.base_extension.number
    assert login(users[1].account).json()["reason"] == "pool_full"


def test_logout_gives_the_member_back(login, make_user, pool_of, webfon_client):
    pool = pool_of(1)
    first, second = make_user(pool=pool), make_user(pool=pool)
    token = login(first.account).json()["token"]
    assert login(second.account).json()["reason"] == "pool_full"
    assert webfon_client.post(LOGOUT, {"token": token}).json() == {"status": "ok"}
    assert login(second.account).status_code == 200
    again = webfon_client.post(LOGOUT, {"token": token})
    assert (again.status_code, again.json()["reason"]) == (401, "invalid_token")
    session = WebfonSession.objects.get(user=first)
    assert (session.state, session.end_reason, session.pool_extension) == ("ended", "logout", None)


def test_expiry_gives_the_member_back(login, make_user, pool_of):
    pool = pool_of(1)
    first, second = make_user(pool=pool), make_user(pool=pool)
    login(first.account)
    WebfonSession.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    # The login itself notices a stale holder; the beat task does it for everyone.
    assert login(second.account).status_code == 200
    WebfonSession.objects.filter(user=second).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    # The beat task, run here (the worker tests run tasks through a real broker).
    assert webfon_sessions_expire_task.apply().get() == 1
    assert not WebfonSession.objects.filter(pool_extension__isnull=False).exists()


def test_disabling_a_user_ends_their_sessions_at_once(login, make_user, pool_of):
    pool = pool_of(1)
    user, other = make_user(pool=pool), make_user(pool=pool)
    login(user.account)
    portal_user_update(
        actor=Actor.system("tests"), user=user, validation=PortalUser.Validation.DISABLED
    )
    session = WebfonSession.objects.get(user=user)
    assert (session.state, session.end_reason) == ("ended", "disabled")
    assert login(other.account).status_code == 200


def test_sessions_api_lists_and_forces_logout(api, client_for, login, make_user, pool_of):
    pool = pool_of(1)
    user, other = make_user(pool=pool), make_user(pool=pool)
    login(user.account)
    listed = api.get("/api/v1/webfon/sessions/").json()
    assert listed["count"] == 1
    row = listed["results"][0]
    assert row["account"] == user.account and row["client_ip"] == "203.0.113.7"
    assert row["mobility_extension"] == pool.members.get().number and row["pool"] == pool.pk
    assert "token" not in str(row).lower()
    assert client_for(ROLE_OPERATOR).get("/api/v1/webfon/sessions/").status_code == 403
    assert api.delete(f"/api/v1/webfon/sessions/{row['id']}/").status_code == 204
    assert WebfonSession.objects.get().end_reason == "forced"
    assert api.get("/api/v1/webfon/sessions/").json()["count"] == 0
    assert login(other.account).status_code == 200


def test_users_api_shows_the_mobility_extension(api, login, make_user, pool_of):
    pool = pool_of(1)
    user = make_user(pool=pool)
    assert api.get(f"/api/v1/users/{user.pk}/").json()["mobility_extension"] is None
    number = login(user.account).json()["mobility_extension"]
    assert api.get(f"/api/v1/users/{user.pk}/").json()["mobility_extension"] == number
    listed = api.get("/api/v1/users/", {"connected": "true"}).json()
    assert [row["account"] for row in listed["results"]] == [user.account]


def test_account_lock_after_the_limit(login, make_user, auth_log):
    WebfonPolicy.objects.update(account_max_failures=3, ip_max_failures=100)
    user = make_user()
    for _ in range(3):
        assert login(user.account, "mal").json()["reason"] == "bad_credentials"
    locked = login(user.account)  # even the right password
    assert (locked.status_code, locked.json()["reason"]) == (403, "locked")
    assert "account_locked" in auth_log.read_text()
    # The window passes: the account may try again.
    LoginThrottle.objects.update(window_started_at=timezone.now() - datetime.timedelta(hours=1))
    assert login(user.account).status_code == 200


def test_success_clears_the_account_counter(login, make_user):
    WebfonPolicy.objects.update(account_max_failures=2)
    user = make_user(max_sessions=5)
    login(user.account, "mal")
    assert login(user.account).status_code == 200
    login(user.account, "mal")
    assert login(user.account).status_code == 200


def test_ip_lock_covers_every_account(login, make_user):
    WebfonPolicy.objects.update(ip_max_failures=3, account_max_failures=100)
    user = make_user()
    for n in range(3):
        login(f"nadie{n}", "mal")
    assert login(user.account).json()["reason"] == "locked"
    # Another address is not locked.
    assert login(user.account, REMOTE_ADDR="198.51.100.9").status_code == 200


def test_forwarded_for_is_ignored_from_an_untrusted_peer(login, make_user, settings):
    settings.WEBFON_TRUSTED_PROXIES = ["10.0.0.0/8"]
    user = make_user(max_sessions=3)
    login(user.account, HTTP_X_FORWARDED_FOR="172.25.1.5")
    login(user.account, REMOTE_ADDR="10.1.1.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 172.25.1.5")
    ips = list(WebfonSession.objects.order_by("id").values_list("client_ip", flat=True))
    assert ips == ["203.0.113.7", "172.25.1.5"]


def test_crafted_account_cannot_forge_a_log_line(login, auth_log):
    login("x\n!20220210 190228.116 WSI TRUCO_KO [6.6.6.6] forged\r", "mal")
    login("y TRUCO_KO [7.7.7.7]", "mal")
    lines = auth_log.read_text().splitlines()
    assert len(lines) == 2
    assert all("[203.0.113.7]" in line for line in lines)
    assert "[6.6.6.6]" not in auth_log.read_text() and "[7.7.7.7]" not in auth_log.read_text()


def test_deadlock_during_allocation_is_retried(login, make_user, pool_of, monkeypatch):
    pool = pool_of(1)
    user = make_user(pool=pool)
    real = services._free_pool_member
    calls = []

    def deadlock_once(pool_id):
        calls.append(pool_id)
        if len(calls) == 1:
            raise OperationalError(1213, "Deadlock found when trying to get lock")
        return real(pool_id)

    monkeypatch.setattr(services, "_free_pool_member", deadlock_once)
    response = login(user.account)
    assert response.status_code == 200
    assert len(calls) == 2
    assert WebfonSession.objects.get().pool_extension == pool.members.get()


def test_a_fault_after_allocation_leaves_the_member_free(make_user, pool_of, monkeypatch):
    pool = pool_of(1)
    user = make_user(pool=pool)

    def boom(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services.authlog, "log_success", boom)
    with pytest.raises(RuntimeError):
        services.webfon_login(account=user.account, password=PASSWORD, client_ip="203.0.113.7")
    assert not WebfonSession.objects.exists()
    assert Extension.objects.filter(pool=pool, pool_session__isnull=True).count() == 1


def test_purge_deletes_dead_tokens_in_batches(make_user, login):
    user = make_user(max_sessions=10)
    for _ in range(7):
        login(user.account)
    old = timezone.now() - datetime.timedelta(days=16)
    ids = list(WebfonSession.objects.order_by("id").values_list("id", flat=True))
    # ended long ago; started long ago and ended recently; started long ago and still active;
    # recent and ended; recent and active
    WebfonSession.objects.filter(id__in=ids[:3]).update(state="ended", ended_at=old, started_at=old)
    WebfonSession.objects.filter(id=ids[3]).update(
        state="ended", ended_at=timezone.now(), started_at=old
    )
    WebfonSession.objects.filter(id=ids[4]).update(started_at=old)
    WebfonSession.objects.filter(id=ids[5]).update(state="ended", ended_at=timezone.now())
    login("nadie", "mal")
    login("otro", "mal")
    LoginThrottle.objects.filter(key="nadie").update(
        window_started_at=timezone.now() - datetime.timedelta(days=2)
    )
    assert webfon_sessions_purge(batch_size=2) == 4
    assert not LoginThrottle.objects.filter(key="nadie").exists()
    assert LoginThrottle.objects.filter(key="otro").exists()
    assert sorted(WebfonSession.objects.values_list("id", flat=True)) == [ids[4], ids[5], ids[6]]


def test_bad_input_is_a_400_naming_the_field(webfon_client):
    response = webfon_client.post(LOGIN, {"password": "x"})
    assert response.status_code == 400
    assert "account" in response.json()


def test_policy_api(api, client_for):
    assert api.get("/api/v1/webfon/policy/").json()["password_validity_days"] == 90
    bad = api.patch("/api/v1/webfon/policy/", {"pin_expiry_seconds": 3600})
    assert bad.status_code == 400 and "pin_expiry_seconds" in bad.json()
    ok = api.patch("/api/v1/webfon/policy/", {"password_min_length": 12})
    assert ok.status_code == 200 and ok.json()["password_min_length"] == 12
    assert WebfonPolicy.objects.get().password_min_length == 12
    operator = client_for(ROLE_OPERATOR)
    assert operator.get("/api/v1/webfon/policy/").status_code == 200
    assert operator.patch("/api/v1/webfon/policy/", {"pin_length": 8}).status_code == 403


def test_sessions_api_filters_and_searches(api, login, make_user):
    first, second = make_user(), make_user()
    login(first.account)
    login(second.account, REMOTE_ADDR="198.51.100.20")
    by_account = api.get("/api/v1/webfon/sessions/", {"account": first.account}).json()
    assert [row["account"] for row in by_account["results"]] == [first.account]
    by_ip = api.get("/api/v1/webfon/sessions/", {"search": "198.51.100.20"}).json()
    assert [row["account"] for row in by_ip["results"]] == [second.account]
    ordered = api.get("/api/v1/webfon/sessions/", {"ordering": "started_at"}).json()
    assert [row["account"] for row in ordered["results"]] == [first.account, second.account]


@pytest.mark.parametrize(
    ("attacker", "same_bucket", "other_bucket"),
    [
        # IPv6: one subscriber holds a /64; any interface id in it is the same client.
        (
            ["2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:fffe", "2001:db8:1:2:abcd::7"],
            "2001:db8:1:2:1234:5678:9abc:def0",
            "2001:db8:1:3::1",
        ),
        # IPv4: the address alone (an IPv4-mapped IPv6 address is its IPv4 address).
        (["198.51.100.1", "::ffff:198.51.100.1", "198.51.100.1"], "198.51.100.1", "198.51.100.2"),
    ],
)
def test_ip_lock_keys_ipv6_by_its_64(login, make_user, attacker, same_bucket, other_bucket):
    WebfonPolicy.objects.update(ip_max_failures=3, account_max_failures=100)
    user = make_user(max_sessions=2)
    for n, address in enumerate(attacker):
        assert login(f"nadie{n}", "mal", REMOTE_ADDR=address).json()["reason"] == "bad_credentials"
    assert login(user.account, REMOTE_ADDR=same_bucket).json()["reason"] == "locked"
    assert login(user.account, REMOTE_ADDR=other_bucket).status_code == 200
    # The log still names the address the attempt came from, not its /64.
    session = WebfonSession.objects.get()
    assert session.client_ip == other_bucket


def test_sessions_api_end_reason_is_null_while_in_force(api, login, webfon_client, make_user):
    user = make_user(max_sessions=2)
    token = login(user.account).json()["token"]
    login(user.account)
    (row, _other) = api.get("/api/v1/webfon/sessions/", {"ordering": "started_at"}).json()[
        "results"
    ]
    assert (row["state"], row["end_reason"]) == ("active", None)
    webfon_client.post(LOGOUT, {"token": token})
    ended = api.get(f"/api/v1/webfon/sessions/{row['id']}/").json()
    assert (ended["state"], ended["end_reason"]) == ("ended", "logout")
