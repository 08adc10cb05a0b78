"""``GET /metrics``: who may read it, and what Prometheus' own parser reads from it."""

import datetime

import pytest
from django.core import checks
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from nodes.models import Push
from portal.metrics import METRIC_NAMES
from tests.factories import (
    PortalUserFactory,
    WebfonExtensionFactory,
    WebfonSessionFactory,
    WebrtcNodeFactory,
)
from webfon.services import login_outcome_record

pytestmark = pytest.mark.django_db
TOKEN = "token-de-metricas-de-prueba"


@pytest.fixture(autouse=True)
def _metrics_settings(settings):
    settings.METRICS_ALLOWED_NETWORKS = ["192.0.2.0/28", "2001:db8::/64"]
    settings.METRICS_TOKEN = TOKEN
    settings.WEBFON_TRUSTED_PROXIES = ["127.0.0.1/32"]


def scrape(**extra):
    return Client(**extra).get("/metrics")


@pytest.mark.parametrize(
    ("extra", "status"),
    [
        ({"REMOTE_ADDR": "192.0.2.5"}, 200),
        ({"REMOTE_ADDR": "2001:db8::7"}, 200),
        ({"REMOTE_ADDR": "192.0.2.99"}, 403),
        ({"REMOTE_ADDR": "203.0.113.9"}, 403),
        # Behind the host's Apache: the address it forwards decides.
        ({"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "192.0.2.3"}, 200),
        ({"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}, 403),
        # Nobody else's X-Forwarded-For is believed.
        ({"REMOTE_ADDR": "203.0.113.9", "HTTP_X_FORWARDED_FOR": "192.0.2.3"}, 403),
        ({"REMOTE_ADDR": "203.0.113.9", "HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}, 200),
        ({"REMOTE_ADDR": "203.0.113.9", "HTTP_AUTHORIZATION": "Bearer otro"}, 403),
        ({"REMOTE_ADDR": "203.0.113.9", "HTTP_AUTHORIZATION": f"Token {TOKEN}"}, 403),
    ],
)
def test_only_allowed_addresses_or_the_token(extra, status):
    answer = scrape(**extra)
    assert answer.status_code == status
    if status == 403:
        assert "METRICS_ALLOWED_NETWORKS" in answer.content.decode()
        assert TOKEN not in answer.content.decode()


def test_nothing_is_allowed_by_default(settings):
    settings.METRICS_ALLOWED_NETWORKS = []
    settings.METRICS_TOKEN = ""
    assert scrape(REMOTE_ADDR="127.0.0.1").status_code == 403
    assert scrape(REMOTE_ADDR="127.0.0.1", HTTP_AUTHORIZATION="Bearer ").status_code == 403


def test_series_parse_with_prometheus_own_parser(set_stock, busy_pool):
    set_stock(200)
    now = timezone.now()
    pool = busy_pool("Atención", 4, 3)
    fixed = WebfonExtensionFactory()
    WebfonSessionFactory(
        extension=fixed,
        started_at=now,
        expires_at=now + datetime.timedelta(hours=1),
        state="active",
    )
    user = PortalUserFactory(pool=pool)
    for outcome in ["ok", "ok", "pool_full"]:
        login_outcome_record(outcome=outcome, user_id=user.pk)
    node = WebrtcNodeFactory(name="meet")
    Push.objects.create(
        node=node,
        status="applied",
        started_at=now - datetime.timedelta(seconds=90),
        finished_at=now - datetime.timedelta(seconds=60),
    )
    Push.objects.create(
        node=node, status="failed", started_at=now - datetime.timedelta(seconds=10), finished_at=now
    )
    answer = scrape(REMOTE_ADDR="192.0.2.1")
    assert answer["Content-Type"].startswith("text/plain; version=")
    families = {f.name: f for f in text_string_to_metric_families(answer.content.decode())}
    assert set(METRIC_NAMES) <= set(families)

    def value(name, sample_name=None, **labels):
        return next(
            s.value
            for s in families[name].samples
            if s.labels == labels and (sample_name is None or s.name == sample_name)
        )

    assert value("vivait_webfon_sessions", pool="Atención") == 3
    assert value("vivait_webfon_sessions", pool="") == 1
    assert value("vivait_pool_size", pool="Atención") == 4
    assert value("vivait_pool_in_use", pool="Atención") == 3
    assert value("vivait_webfon_logins_24h", outcome="ok") == 2
    assert value("vivait_webfon_logins_24h", outcome="pool_full") == 1
    assert value("vivait_pushes", status="applied") == 1
    assert value("vivait_pushes", status="failed") == 1
    assert value("vivait_pushes", status="running") == 0
    assert value("vivait_push_duration_seconds", "vivait_push_duration_seconds_count") == 2
    assert value(
        "vivait_push_duration_seconds", "vivait_push_duration_seconds_sum"
    ) == pytest.approx(40)
    assert value("vivait_licences_stock") == 200
    assert value("vivait_licences_used") == 6  # 4 members, the pool's base, the fixed one
    assert value("vivait_node_last_push_age_seconds", node="meet", kind="webrtc") == pytest.approx(
        0, abs=5
    )


def test_bad_allowed_network_is_a_check_error(settings):
    settings.METRICS_ALLOWED_NETWORKS = ["192.0.2.0/24", "intranet"]
    errors = [e for e in checks.run_checks() if e.id == "portal.E110"]
    assert len(errors) == 1 and "«intranet»" in errors[0].msg
    assert scrape(REMOTE_ADDR="192.0.2.1").status_code == 403
