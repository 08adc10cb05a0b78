"""The operations pages in Chromium: the dashboard refreshing itself, a pool's occupancy
(screenshot), the sizing button landing on a filled calculator, and the audit trail at 1366 px
with a long change that wraps instead of overflowing."""

import datetime

import pytest
from django.utils import timezone

from core.actors import Actor
from core.audit import audit_record
from tests.factories import (
    PhysicalExtensionFactory,
    PortalUserFactory,
    WebfonSessionFactory,
)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _pool_with_history(busy_pool, name: str, size: int, busy: int):
    """``busy_pool`` with 29 days of history: each day 1-2 more sessions at once than now."""
    pool = busy_pool(name, size, busy)
    now = timezone.now()
    type(pool).objects.filter(pk=pool.pk).update(created_at=now - datetime.timedelta(days=40))
    for day in range(1, 30):
        for index in range(min(busy + day % 3, size)):
            start = now - datetime.timedelta(days=day) + datetime.timedelta(minutes=index)
            WebfonSessionFactory(
                pool=pool,
                started_at=start,
                expires_at=start + datetime.timedelta(hours=1),
                ended_at=start + datetime.timedelta(minutes=50),
                state="ended",
            )
    return pool


def test_dashboard_occupancy_and_sizing(visit, staff, licences, busy_pool):
    PhysicalExtensionFactory.create_batch(3)
    ventas = _pool_with_history(busy_pool, "Ventas", 6, 3)
    _pool_with_history(busy_pool, "Soporte", 4, 1)
    staff(username="jefa")
    visit.login("jefa")
    page = visit.goto("/", "dashboard")
    assert page.inner_text("#sessions-now") == "4"
    assert "3 de 6" in page.inner_text(f"[data-pool='{ventas.pk}']")
    # htmx asks for the body again: a new session shows up without reloading the page.
    PortalUserFactory(account="nuevo")
    WebfonSessionFactory(
        started_at=timezone.now(),
        expires_at=timezone.now() + datetime.timedelta(hours=1),
        state="active",
    )
    assert page.get_attribute("#dashboard", "hx-trigger") == "every 30s"
    # What the 30 s timer does, without the wait.
    page.evaluate("htmx.ajax('GET', '/', {target: '#dashboard', swap: 'outerHTML'})")
    page.wait_for_function("document.querySelector('#sessions-now').textContent.trim() === '5'")
    visit.shot("dashboard-refreshed")

    page.click(f"[data-pool='{ventas.pk}'] a")
    page.wait_for_selector("#occ-peak")
    visit.shot("occupancy-30-days")
    assert page.locator("svg.bar-chart").count() == 3
    assert page.inner_text("#occ-peak") == "5"
    assert page.inner_text("#occ-recommended") == "5"
    assert "hoy tiene 6" in page.inner_text("#occ-sentence")
    page.click("#sizing-button")
    page.wait_for_selector("#total")
    visit.shot("calculator-from-measurement")
    assert "/licencias/calculadora/" in page.url
    assert page.input_value("#id_physical") == "3"
    sizes = page.locator("input[name=pool_size]").evaluate_all("inputs => inputs.map(i => i.value)")
    # Ventas: up to 5 at once; Soporte: up to 3 (1 + day % 3 on some day).
    assert sorted(sizes) == ["3", "5"]


def test_audit_trail_reads_without_a_glossary_at_1366(visit, staff):
    staff(username="jefa")
    user = PortalUserFactory(account="agente9")
    actor = Actor.system("tests")
    audit_record(
        actor=actor,
        action="portal_user.update",
        instance=user,
        before={"second_factor": "none", "name": "Ana"},
        after={"second_factor": "totp", "name": "Ana " + "María" * 200},
    )
    visit.page.set_viewport_size({"width": 1366, "height": 900})
    visit.login("jefa")
    page = visit.goto("/auditoria/", "audit-1366")
    row = page.locator("tbody tr", has_text="agente9").first
    text = row.inner_text()
    assert "Doble factor" in text and "Ninguno" in text and "TOTP" in text
    assert "second_factor" not in text and "users.portaluser" not in text
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
