"""The Content-Security-Policy header on every page, and the endpoint its reports go to."""

import json
import logging

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.factories import StaffUserFactory

pytestmark = pytest.mark.django_db


def plain_routes(patterns, prefix=""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from plain_routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and "<" not in route:
            yield "/" + route


def test_every_page_carries_the_policy(client):
    client.force_login(StaffUserFactory())
    paths = [p for p in plain_routes(get_resolver().url_patterns) if not p.startswith("/i18n/")]
    assert len(paths) > 30
    for path in [*paths, "/no-existe/", "/static/portal/portal.css"]:
        policy = client.get(path).headers.get("Content-Security-Policy", "")
        for directive in (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "frame-ancestors 'none'",
            "report-uri /csp-report/",
        ):
            assert directive in policy, (path, directive)
        assert "unsafe" not in policy, path


def test_the_login_page_carries_it_too(client):
    assert "frame-ancestors 'none'" in client.get("/login/")["Content-Security-Policy"]


def test_reports_are_logged_and_nothing_else(client, caplog):
    caplog.set_level(logging.WARNING, logger="portal.csp")
    report = {
        "csp-report": {
            "document-uri": "https://portal.example/nodos/",
            "violated-directive": "script-src-elem",
            "blocked-uri": "inline",
            "line-number": 12,
        }
    }
    answer = client.post("/csp-report/", json.dumps(report), content_type="application/csp-report")
    assert answer.status_code == 204
    assert (
        "csp.violation document=https://portal.example/nodos/ directive=script-src-elem"
        in caplog.text
    )
    # The Reporting API's format, garbage, and a body too big.
    reporting_api = [
        {
            "type": "csp-violation",
            "body": {
                "documentURL": "https://portal.example/",
                "effectiveDirective": "style-src-attr",
            },
        }
    ]
    assert (
        client.post(
            "/csp-report/", json.dumps(reporting_api), content_type="application/reports+json"
        ).status_code
        == 204
    )
    assert "directive=style-src-attr" in caplog.text
    for body in (b"{", b"\xff\xfe", b'"texto"', b"[1, 2]", b'{"csp-report": 5}'):
        assert client.post("/csp-report/", body, content_type="application/json").status_code in (
            204,
            400,
        )
    assert (
        client.post("/csp-report/", b"x" * 70_000, content_type="application/json").status_code
        == 413
    )
    assert client.get("/csp-report/").status_code == 405
