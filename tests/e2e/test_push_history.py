"""The push history in a real browser: the bar of a push follows it live (htmx polls its
progress every second) from queued to running to applied, without reloading the page, and
stops polling once it has finished. Screenshots under var/screenshots/."""

import pytest
from playwright.sync_api import expect

from nodes.models import Push
from tests.e2e.test_admin_flows import click_and_wait, open_menu
from tests.factories import WebrtcNodeFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_history_bar_follows_a_push_live(visit, staff):
    node = WebrtcNodeFactory(name="meet-live")
    push = Push.objects.create(node=node, reasons=["manual"], requested_by="jefa")
    staff(username="jefa")
    visit.login("jefa")
    page = visit.page
    expect.set_options(timeout=15_000)
    try:
        open_menu(page, "Envíos")
        bar = page.locator(f"#push-progress-{push.pk} [role=progressbar]")
        expect(bar).to_have_attribute("aria-valuenow", "0")
        expect(page.locator(f"#push-progress-{push.pk}")).to_contain_text("Pendiente")
        visit.shot("historial-pendiente")

        # A worker takes it: connected, compared (4 steps planned), one file written.
        Push.objects.filter(pk=push.pk).update(
            status="running",
            steps=[
                {"at": "2026-11-23T10:00:00", "step": "connect", "ok": True, "detail": ""},
                {
                    "at": "2026-11-23T10:00:01",
                    "step": "compare",
                    "ok": True,
                    "detail": "",
                    "plan": 4,
                },
                {"at": "2026-11-23T10:00:02", "step": "write", "ok": True, "detail": "/etc/x"},
            ],
        )
        expect(bar).to_have_attribute("aria-valuenow", "40")
        expect(page.locator(f"#push-progress-{push.pk}")).to_contain_text("En curso")
        visit.shot("historial-en-curso")

        click_and_wait(page.get_by_role("link", name=str(push.pk), exact=True))
        detail_bar = page.locator(f"#push-progress-{push.pk} [role=progressbar]")
        expect(detail_bar).to_have_attribute("aria-valuenow", "40")
        expect(page.locator("#push-steps")).to_contain_text("compare")
        Push.objects.filter(pk=push.pk).update(
            status="applied",
            steps=[
                *Push.objects.get(pk=push.pk).steps,
                {"at": "2026-11-23T10:00:03", "step": "janus.restart", "ok": True, "detail": "ok"},
            ],
        )
        expect(detail_bar).to_have_attribute("aria-valuenow", "100")
        expect(page.locator("#push-steps")).to_contain_text("janus.restart")
        expect(page.locator(f"#push-progress-{push.pk}")).to_contain_text("Aplicado")
        # Finished: the fragment came back without its trigger, so polling has stopped.
        expect(page.locator(f"#push-progress-{push.pk}")).not_to_have_attribute(
            "hx-trigger", "every 1s"
        )
        visit.shot("envio-aplicado")
    finally:
        expect.set_options(timeout=None)
