"""The browser pages of webfon login: users list column and filter, sessions, policy."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from core.roles import ROLE_ADMIN, ROLE_OPERATOR
from tests.factories import StaffUserFactory
from webfon.models import WebfonPolicy, WebfonSession

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser_as():
    def _as(role: str) -> Client:
        client = Client()
        client.force_login(StaffUserFactory(role=role))
        return client

    return _as


def test_users_list_shows_the_mobility_extension_and_filters_connected(
    browser_as, login, make_user, pool_of
):
    pool = pool_of(2)
    connected, idle = make_user(pool=pool), make_user(pool=pool)
    number = login(connected.account).json()["mobility_extension"]
    page = browser_as(ROLE_OPERATOR).get("/usuarios/")
    html = page.content.decode()
    assert "Extensión movilidad" in html
    # The search box leads the filters; "Conectado" comes last.
    names = list(page.context["filterset"].form.fields)
    assert names[0] == "q" and names[-1] == "connected"
    assert f'<span class="badge text-bg-success">{number}</span>' in html
    only = browser_as(ROLE_OPERATOR).get("/usuarios/", {"connected": "yes"}).content.decode()
    assert connected.account in only and idle.account not in only
    none = browser_as(ROLE_OPERATOR).get("/usuarios/", {"connected": "no"}).content.decode()
    assert idle.account in none and f">{connected.account}<" not in none


def test_users_list_queries_do_not_grow_with_sessions(browser_as, login, make_user, pool_of):
    pool = pool_of(12)
    users = [make_user(pool=pool) for _ in range(12)]
    client = browser_as(ROLE_ADMIN)
    login(users[0].account)
    client.get("/usuarios/")
    with CaptureQueriesContext(connection) as small:
        assert client.get("/usuarios/").status_code == 200
    for user in users[1:]:
        login(user.account)
    with CaptureQueriesContext(connection) as large:
        page = client.get("/usuarios/").content.decode()
    assert page.count('class="badge text-bg-success"') == 12
    assert len(large.captured_queries) == len(small.captured_queries)


def test_sessions_page_forces_a_logout(browser_as, login, make_user, pool_of):
    pool = pool_of(1)
    user, other = make_user(pool=pool), make_user(pool=pool)
    login(user.account)
    admin = browser_as(ROLE_ADMIN)
    page = admin.get("/webfon/sesiones/").content.decode()
    session = WebfonSession.objects.get()
    assert user.account in page and session.extension_number in page and "203.0.113.7" in page
    assert browser_as(ROLE_OPERATOR).get("/webfon/sesiones/").status_code == 403
    response = admin.post(f"/webfon/sesiones/{session.pk}/cerrar/")
    assert response.status_code == 302
    session.refresh_from_db()
    assert (session.state, session.end_reason) == ("ended", "forced")
    assert login(other.account).status_code == 200


def test_policy_page_saves_and_refuses_out_of_range_values(browser_as):
    admin = browser_as(ROLE_ADMIN)
    form = admin.get("/webfon/politica/").context["form"]
    data = {name: value for name, value in form.initial.items() if name in form.fields}
    data = {k: v for k, v in data.items() if v is not False}
    data.update(password_min_length=12, password_require_digits="on")
    assert admin.post("/webfon/politica/", data).status_code == 302
    policy = WebfonPolicy.objects.get()
    assert policy.password_min_length == 12 and policy.password_require_digits
    data["pin_expiry_seconds"] = 3600  # a challenge lives at most 600 s
    bad = admin.post("/webfon/politica/", data)
    assert bad.status_code == 400
    assert "600" in bad.content.decode()
    assert WebfonPolicy.objects.get().pin_expiry_seconds == 600
    assert browser_as(ROLE_OPERATOR).post("/webfon/politica/", data).status_code == 403


def test_sessions_page_searches(browser_as, login, make_user):
    first, second = make_user(account="ana"), make_user(account="bruno")
    login(first.account)
    login(second.account, REMOTE_ADDR="198.51.100.30")
    admin = browser_as(ROLE_ADMIN)
    page = admin.get("/webfon/sesiones/", {"q": "198.51.100"}).content.decode()
    assert ">bruno<" in page and ">ana<" not in page
    page = admin.get("/webfon/sesiones/", {"q": "ana"}).content.decode()
    assert ">ana<" in page and ">bruno<" not in page
