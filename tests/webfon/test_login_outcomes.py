"""Login outcomes counted per hour, pool and node (one upsert per login), purged after 400
days by the beat; the pool occupancy API and page, and the sizing button."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from licensing.selectors import license_installation_estimate
from tests.factories import PortalUserFactory
from webfon.models import LoginOutcomeHour
from webfon.occupancy import hour_floor
from webfon.services import LOGIN_OUTCOME_RETENTION_DAYS, login_outcome_record
from webfon.tasks import webfon_outcomes_purge_task

NOW = datetime.datetime(2026, 5, 4, 10, 17, tzinfo=datetime.UTC)


def counts() -> dict[tuple, int]:
    return {
        (row.hour, row.pool_ref, row.node_ref, row.outcome): row.count
        for row in LoginOutcomeHour.objects.all()
    }


@time_machine.travel(NOW, tick=False)
def test_every_login_is_counted_in_its_hour(login, make_user, pool_of):
    pool = pool_of(2)
    pooled = [make_user(pool=pool) for _ in range(3)]
    fixed = make_user()
    assert [login(u.account).status_code for u in pooled] == [200, 200, 409]
    assert login(fixed.account).status_code == 200
    assert login(fixed.account, password="mala").status_code == 401
    assert login("nadie", password="mala").status_code == 401
    hour = hour_floor(NOW)
    node = pool.base_extension.node_id
    assert counts() == {
        (hour, pool.pk, node, "ok"): 2,
        (hour, pool.pk, node, "pool_full"): 1,
        (hour, 0, fixed.webfon_extension.node_id, "ok"): 1,
        (hour, 0, fixed.webfon_extension.node_id, "bad_credentials"): 1,
        (hour, 0, 0, "bad_credentials"): 1,
    }
    # The next hour opens new rows; the old ones stay as they were.
    with time_machine.travel(NOW + datetime.timedelta(minutes=50), tick=False):
        login(pooled[2].account)
    assert counts()[(hour, pool.pk, node, "pool_full")] == 1
    assert counts()[(hour + datetime.timedelta(hours=1), pool.pk, node, "pool_full")] == 1


@pytest.mark.django_db
def test_outcomes_older_than_400_days_are_purged_by_the_beat():
    user = PortalUserFactory()
    keep = NOW - datetime.timedelta(days=LOGIN_OUTCOME_RETENTION_DAYS - 1)
    drop = NOW - datetime.timedelta(days=LOGIN_OUTCOME_RETENTION_DAYS + 1)
    for moment in (keep, drop, drop - datetime.timedelta(days=30)):
        login_outcome_record(outcome="ok", user_id=user.pk, at=moment)
    with time_machine.travel(NOW, tick=False):
        assert webfon_outcomes_purge_task() == 2
    assert list(LoginOutcomeHour.objects.values_list("hour", flat=True)) == [hour_floor(keep)]


# --- the API and the page -------------------------------------------------------------------
@pytest.fixture
def busy_pool(pool_of, pool_history):
    pool = pool_of(3)
    start = hour_floor(NOW) - datetime.timedelta(days=2)
    type(pool).objects.filter(pk=pool.pk).update(created_at=start - datetime.timedelta(days=10))
    pool.refresh_from_db()
    for minute in (0, 10, 20):
        pool_history(
            pool, start + datetime.timedelta(minutes=minute), start + datetime.timedelta(hours=1)
        )
    return pool


@time_machine.travel(NOW, tick=False)
def test_occupancy_api(api, busy_pool):
    answer = api.get(f"/api/v1/pools/{busy_pool.pk}/occupancy/?days=7")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["peak"], body["size"], body["recommended_size"]) == (3, 3, 3)
    assert body["hours_full"] == round(40 / 60, 1)
    assert body["refused_pool_full"] == 0
    assert len(body["hourly"]) == 7 * 24
    assert max(hour["peak"] for hour in body["hourly"]) == 3
    assert sum(day["hours_full"] for day in body["daily"]) == pytest.approx(0.7, abs=0.05)


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("days=0", "«0»"),
        ("days=401", "«401»"),
        ("days=treinta", "«treinta»"),
        ("tolerance=-1", "«-1»"),
    ],
)
def test_occupancy_api_refuses_bad_windows(api, busy_pool, query, named):
    answer = api.get(f"/api/v1/pools/{busy_pool.pk}/occupancy/?{query}")
    assert answer.status_code == 400
    assert named in str(answer.json())


def test_occupancy_api_needs_the_pool_permission(client_for, busy_pool):
    assert client_for("ventas").get(f"/api/v1/pools/{busy_pool.pk}/occupancy/").status_code == 403
    assert client_for("operador").get(f"/api/v1/pools/{busy_pool.pk}/occupancy/").status_code == 200


@time_machine.travel(NOW, tick=False)
def test_occupancy_page_and_sizing_button(browser_for, busy_pool, pool_of, make_user):
    admin_client = browser_for()
    page = admin_client.get(reverse("extensionpool_occupancy", args=[busy_pool.pk]) + "?days=7")
    assert page.status_code == 200
    text = page.content.decode()
    assert (
        "Con 3 miembros no se habría rechazado ningún inicio de sesión en 7 días; hoy tiene 3."
        in text
    )
    assert "<svg" in text
    # A second, idle pool of 4 and a fixed webfon extension: the calculator gets the measured
    # 3 and 0 for the pools, today's physical and fixed webfon extensions.
    pool_of(4)
    make_user()
    sizing = admin_client.get(reverse("extensionpool_sizing") + "?days=7")
    assert sizing.status_code == 200
    assert "<td>3</td><td>3</td><td>0</td><td>3</td>" in sizing.content.decode()
    answer = admin_client.get(reverse("extensionpool_sizing") + "?days=7&abrir=1")
    assert answer.status_code == 302
    location = answer["Location"]
    assert location.startswith(reverse("license_calculator"))
    today = license_installation_estimate()
    assert f"physical={today.physical}&fixed_webfon={today.fixed_webfon}&" in location
    assert sorted(
        p.split("=")[1] for p in location.split("?")[1].split("&") if p.startswith("pool_size")
    ) == ["0", "3"]


def test_occupancy_page_refuses_bad_windows(browser_for, busy_pool):
    admin_client = browser_for()
    page = admin_client.get(reverse("extensionpool_occupancy", args=[busy_pool.pk]) + "?days=9999")
    assert page.status_code == 400
    assert "«9999» no vale como número de días" in page.content.decode()
