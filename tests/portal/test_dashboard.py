"""The dashboard: the operations overview, refreshed by htmx, in a constant number of queries."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.roles import ROLE_SALES
from extensions.models import Extension
from nodes.models import Push
from tests.factories import (
    PortalUserFactory,
    WebrtcNodeFactory,
)
from users.models import PortalUser
from webfon.services import login_outcome_record


@pytest.fixture
def installation(db, licences, busy_pool):
    ventas = busy_pool("Ventas", 4, 3)
    soporte = busy_pool("Soporte", 2, 2)
    user = PortalUserFactory(pool=ventas)
    for outcome in ["ok"] * 5 + ["pool_full"] * 3 + ["bad_credentials"] * 2:
        login_outcome_record(outcome=outcome, user_id=user.pk)
    # Older than 24 h: not counted.
    login_outcome_record(
        outcome="locked", user_id=None, at=timezone.now() - datetime.timedelta(hours=26)
    )
    node = WebrtcNodeFactory(name="meet")
    Push.objects.create(node=node, status="failed", finished_at=timezone.now())
    return {"ventas": ventas, "soporte": soporte, "node": node}


def test_dashboard_shows_the_operations_overview(browser_for, installation):
    html = browser_for("operador").get("/").content.decode()
    assert '<div class="display-6" id="sessions-now">5</div>' in html
    assert "Ventas</a><span>3 de 4</span>" in html and "Soporte</a><span>2 de 2</span>" in html
    assert "5 correctos." in html
    assert '<tr data-reason="pool_full"><td>Pool completo</td><td class="text-end">3</td>' in html
    assert 'data-reason="bad_credentials"' in html and 'data-reason="locked"' not in html
    assert f'data-node="{installation["node"].pk}"' in html and "Fallido" in html
    assert f'hx-get="/nodos/{installation["node"].pk}/en-vivo/"' in html
    assert 'hx-trigger="every 30s"' in html


def test_htmx_asks_for_the_body_only(browser_for, installation):
    body = browser_for().get("/", HTTP_HX_REQUEST="true").content.decode()
    assert body.startswith('<div id="dashboard"') and "<html" not in body
    assert 'id="sessions-now">5<' in body


def test_sales_see_the_licences_only(browser_for, installation):
    html = browser_for(ROLE_SALES).get("/").content.decode()
    assert "Licencias" in html
    assert "sessions-now" not in html and "Pools: miembros en uso" not in html
    assert "Nodos Webrtc" not in html


def _grow(busy_pool) -> None:
    """10,000 more users, more pools, nodes, sessions and pushes."""
    PortalUser.objects.bulk_create(
        PortalUser(account=f"masivo{i}", name=f"Masivo {i}", email=f"m{i}@example.com")
        for i in range(10_000)
    )
    for index in range(5):
        busy_pool(f"Pool extra {index}", 5, index)
        node = WebrtcNodeFactory(name=f"meet-{index}")
        Push.objects.create(node=node, status="applied", finished_at=timezone.now())


def test_same_queries_at_10_and_10000_users(
    browser_for, installation, busy_pool, django_assert_num_queries
):
    client = browser_for()
    PortalUser.objects.bulk_create(
        PortalUser(account=f"pocos{i}", name=f"Pocos {i}", email=f"p{i}@example.com")
        for i in range(10 - PortalUser.objects.count())
    )
    client.get("/")  # warm the permission cache
    with CaptureQueriesContext(connection) as small:
        assert client.get("/").status_code == 200
    _grow(busy_pool)
    assert PortalUser.objects.count() > 10_000 and Extension.objects.count() > 30
    with django_assert_num_queries(len(small)):
        assert client.get("/").status_code == 200
