"""Every event of the staff plane is in the audit trail once, with actor and address, and
no password or code is in any row or log line."""

import datetime
import logging

import pytest
import time_machine

from core.models import AuditEntry
from core.roles import ROLE_ADMIN
from tests.accounts.conftest import post_login
from tests.factories import STAFF_PASSWORD, StaffUserFactory, totp_code

pytestmark = pytest.mark.django_db


def test_a_days_events_are_recorded_once_each(staff_browser, client, settings, caplog):
    caplog.set_level(logging.INFO)
    ana = StaffUserFactory(username="ana", role=ROLE_ADMIN)
    home, away = staff_browser("192.0.2.10"), staff_browser("2001:db8::7")

    post_login(away, "ana", "equivocada-1")  # failed: bad password
    for i in range(settings.STAFF_LOGIN_FAILURE_LIMIT - 1):  # ... and locked
        post_login(away, "ana", f"equivocada-{i + 2}")
    post_login(away, "ana")  # refused while locked: a log line, no row
    with time_machine.travel(datetime.datetime.now(tz=datetime.UTC), tick=False) as clock:
        post_login(home, "ana")
        home.post("/cuenta/verificar/", {"code": "123456"})  # failed: wrong code
        wrong_code_at = AuditEntry.objects.latest("id")
        clock.shift(2)  # django-otp's delay after a wrong code
        code = totp_code(ana)
        home.post("/cuenta/verificar/", {"code": code})  # login ok
        home.post("/logout/")

    rows = list(AuditEntry.objects.order_by("id").values_list("action", "actor_label", "client_ip"))
    failed = [r for r in rows if r[0] == "staff.login_failed"]
    assert failed.count(("staff.login_failed", "ana", "2001:db8::7")) == 5
    assert failed.count(("staff.login_failed", "ana", "192.0.2.10")) == 1
    assert wrong_code_at.changes["reason"] == "second_factor"
    assert rows.count(("staff.lockout", "ana", "2001:db8::7")) == 1
    assert rows.count(("staff.login", "ana", "192.0.2.10")) == 1
    assert rows.count(("staff.logout", "ana", "192.0.2.10")) == 1
    assert len(rows) == 9
    assert {e.actor_user_id for e in AuditEntry.objects.all()} == {ana.pk}

    # No secret in any row or log line.
    everything = " ".join(str(e.changes) + e.object_repr for e in AuditEntry.objects.all())
    everything += caplog.text
    for secret in (STAFF_PASSWORD, "equivocada-", code, "123456"):
        assert secret not in everything


def test_the_audit_page_filters_by_address_and_action(staff_browser, client):
    StaffUserFactory(username="ana")
    post_login(staff_browser("192.0.2.10"), "ana", "mala")
    post_login(staff_browser("192.0.2.11"), "ana", "mala")
    client.force_login(StaffUserFactory(username="jefa"))
    page = client.get("/auditoria/?client_ip=192.0.2.11&action=staff.").content.decode()
    assert "192.0.2.11" in page and "192.0.2.10" not in page
    bad = client.get("/auditoria/?client_ip=no-es-una-ip")
    assert bad.status_code == 200 and "IPv4 o IPv6" in bad.content.decode()
