"""``GET /metrics``: the installation's state in Prometheus' text format, computed from the
database at each scrape (a fixed number of queries, nothing kept in the process: every web
process answers the same)."""

from __future__ import annotations

import datetime
import hmac

from django.conf import settings
from django.db.models import Count, F, Sum
from django.utils import timezone
from prometheus_client.core import (
    CollectorRegistry,
    GaugeMetricFamily,
    SummaryMetricFamily,
)
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from core.client_ip import client_ip, in_networks, parse_networks
from licensing.selectors import license_usage
from nodes.models import Node, Push
from nodes.selectors import nodes_with_last_push
from webfon.selectors import login_outcomes_since, pools_in_use, webfon_sessions_live

# The names, documented in the README.
METRIC_NAMES = (
    "vivait_webfon_sessions",
    "vivait_pool_size",
    "vivait_pool_in_use",
    "vivait_webfon_logins_24h",
    "vivait_pushes",
    "vivait_push_duration_seconds",
    "vivait_licences_used",
    "vivait_licences_stock",
    "vivait_node_last_push_age_seconds",
)
DURATION_WINDOW = datetime.timedelta(hours=24)


class InstallationCollector(Collector):
    def collect(self):
        now = timezone.now()
        sessions = GaugeMetricFamily(
            "vivait_webfon_sessions",
            'Webfon sessions in force, by pool (pool="": fixed extensions).',
            labels=["pool"],
        )
        pools = pools_in_use()
        for pool in pools:
            sessions.add_metric([pool.name], pool.in_use)
        fixed = webfon_sessions_live().filter(pool_extension__isnull=True).count()
        sessions.add_metric([""], fixed)
        yield sessions

        size = GaugeMetricFamily("vivait_pool_size", "Members of each pool.", labels=["pool"])
        in_use = GaugeMetricFamily(
            "vivait_pool_in_use", "Members of each pool held by a session now.", labels=["pool"]
        )
        for pool in pools:
            size.add_metric([pool.name], pool.size)
            in_use.add_metric([pool.name], pool.in_use)
        yield size
        yield in_use

        logins = GaugeMetricFamily(
            "vivait_webfon_logins_24h",
            "Webfon logins in the last 24 hours (whole hours) by outcome: ok or the refusal reason.",
            labels=["outcome"],
        )
        for outcome, count in sorted(login_outcomes_since(now - DURATION_WINDOW).items()):
            logins.add_metric([outcome], count)
        yield logins

        pushes = GaugeMetricFamily(
            "vivait_pushes", "Pushes to the nodes in the history, by status.", labels=["status"]
        )
        counted = dict(
            Push.objects.values("status")
            .annotate(n=Count("id"))
            .order_by()
            .values_list("status", "n")
        )
        for status in Push.Status.values:
            pushes.add_metric([status], counted.get(status, 0))
        yield pushes

        finished = Push.objects.filter(
            finished_at__gte=now - DURATION_WINDOW, started_at__isnull=False
        ).aggregate(n=Count("id"), total=Sum(F("finished_at") - F("started_at")))
        total = finished["total"] or datetime.timedelta(0)
        yield SummaryMetricFamily(
            "vivait_push_duration_seconds",
            "Duration of the pushes finished in the last 24 hours (started to finished).",
            count_value=finished["n"],
            sum_value=total.total_seconds(),
        )

        usage = license_usage()
        yield GaugeMetricFamily("vivait_licences_used", "Licences in use.", value=usage.used)
        yield GaugeMetricFamily("vivait_licences_stock", "Licences bought.", value=usage.stock)

        age = GaugeMetricFamily(
            "vivait_node_last_push_age_seconds",
            "Seconds since each node's latest push finished (or was asked for, if unfinished).",
            labels=["node", "kind"],
        )
        for node in nodes_with_last_push(Node.objects.order_by("name")):
            if node.last_push_at is not None:
                age.add_metric([node.name, node.kind], (now - node.last_push_at).total_seconds())
        yield age


def metrics_text() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(InstallationCollector())
    return generate_latest(registry)


def metrics_allowed(*, remote_addr: str, forwarded_for: str | None, authorization: str) -> bool:
    """A client in ``METRICS_ALLOWED_NETWORKS`` (its address taken as the webfon login takes
    it), or the ``METRICS_TOKEN`` as a bearer token."""
    token = settings.METRICS_TOKEN
    scheme, _space, given = (authorization or "").partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token):
        return True
    if not settings.METRICS_ALLOWED_NETWORKS:
        return False
    try:
        allowed = parse_networks(settings.METRICS_ALLOWED_NETWORKS)
        proxies = parse_networks(settings.WEBFON_TRUSTED_PROXIES)
    except ValueError:
        return False  # manage.py check names the bad value (portal.E110)
    address = client_ip(
        remote_addr=remote_addr, forwarded_for=forwarded_for, trusted_proxies=proxies
    )
    return address is not None and in_networks(address, allowed)
