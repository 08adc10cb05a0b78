"""Licencias page and the sales calculator."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from core.roles import ROLE_OPERATOR, ROLE_SALES
from licensing.models import LicenseStock
from tests.factories import (
    PhysicalExtensionFactory,
    PoolFactory,
    WebfonExtensionFactory,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("query", "total", "summary"),
    [
        (
            "physical=100&fixed_webfon=100",
            200,
            "100 extensiones HARD + 100 extensiones WEBFON = 200 licencias",
        ),
        (
            "physical=100&pool_size=25",
            125,
            "100 extensiones HARD + 25 extensiones WEBFON = 125 licencias",
        ),
        (
            "physical=100&fixed_webfon=5&pool_size=25",
            130,
            "100 extensiones HARD + 30 extensiones WEBFON = 130 licencias",
        ),
        (
            "physical=0&fixed_webfon=100",
            100,
            "0 extensiones HARD + 100 extensiones WEBFON = 100 licencias",
        ),
    ],
)
def test_calculator_page_reproduces_the_manual(query, total, summary, browser_for):
    page = browser_for(ROLE_SALES).get(f"/licencias/calculadora/?{query}").content.decode()
    assert f'<span id="total">{total}</span>' in page
    assert summary in page
    assert f"/licencias/calculadora/?{query}".replace("&", "&amp;") in page  # shareable URL


def test_calculator_several_pools_and_bad_input(browser_for):
    client = browser_for(ROLE_SALES)
    page = client.get(
        "/licencias/calculadora/?physical=10&pool_size=5&pool_size=7"
    ).content.decode()
    assert '<span id="total">22</span>' in page and "Pool 2: 7 extensiones webfon" in page
    response = client.get("/licencias/calculadora/?physical=10&pool_size=muchos")
    assert response.status_code == 400 and "«muchos»" in response.content.decode()
    response = client.get("/licencias/calculadora/?physical=-3")
    assert response.status_code == 400


def test_fill_from_installation(set_stock, browser_for):
    set_stock(100)
    PhysicalExtensionFactory.create_batch(4)
    WebfonExtensionFactory.create_batch(2)
    pool_a, pool_b = PoolFactory(), PoolFactory()  # two more fixed-profile bases
    WebfonExtensionFactory.create_batch(3, pool=pool_a)
    WebfonExtensionFactory.create_batch(5, pool=pool_b)
    client = browser_for(ROLE_SALES)
    response = client.get("/licencias/calculadora/?from_installation=1")
    assert response.status_code == 302
    assert (
        response["Location"]
        == "/licencias/calculadora/?physical=4&fixed_webfon=4&pool_size=3&pool_size=5"
    )
    page = client.get(response["Location"]).content.decode()
    assert '<span id="total">16</span>' in page


def test_summary_page_shows_counts_warning_and_history(set_stock, browser_for):
    set_stock(10)
    PhysicalExtensionFactory.create_batch(6)
    WebfonExtensionFactory.create_batch(3, pool=PoolFactory())  # 6 + 1 base + 3 = 10
    client = browser_for()
    page = client.get("/licencias/").content.decode()
    assert '<div class="display-6" id="license-free">0</div>' in page
    assert 'id="license-warning"' in page
    response = client.post("/licencias/", {"stock": "9"})
    assert response.status_code == 400 and "hay 10 licencias en uso" in response.content.decode()
    assert LicenseStock.objects.get().stock == 10
    assert client.post("/licencias/", {"stock": "40"}).status_code == 302
    page = client.get("/licencias/").content.decode()
    assert 'id="license-warning"' not in page
    assert "<td>10</td><td>40</td>" in page


def test_roles_on_licensing_pages(browser_for):
    sales = browser_for(ROLE_SALES)
    assert sales.get("/licencias/").status_code == 200
    assert sales.post("/licencias/", {"stock": "5"}).status_code == 403
    assert sales.get("/nodos/").status_code == 403
    page = sales.get("/").content.decode()
    assert "Licencias" in page and "/nodos/" not in page
    operator = browser_for(ROLE_OPERATOR)
    assert operator.get("/licencias/").status_code == 200
    assert operator.post("/licencias/", {"stock": "5"}).status_code == 403
    assert operator.get("/licencias/calculadora/").status_code == 200
    assert Client().get("/licencias/").status_code == 302


def test_summary_queries_do_not_grow(set_stock, browser_for):
    set_stock(100_000)
    client = browser_for()
    client.get("/licencias/")
    PhysicalExtensionFactory.create_batch(5)
    with CaptureQueriesContext(connection) as small:
        client.get("/licencias/")
    PhysicalExtensionFactory.create_batch(50)
    WebfonExtensionFactory.create_batch(20, pool=PoolFactory())
    with CaptureQueriesContext(connection) as large:
        client.get("/licencias/")
    assert len(large.captured_queries) == len(small.captured_queries)


def test_every_page_that_creates_extensions_refuses_over_stock(set_stock, corporate, browser_for):
    """Extension form and pool range page: the refusal names the licences; nothing is written."""
    from extensions.models import Extension

    pool = PoolFactory()  # its base extension uses one licence
    set_stock(1)
    client = browser_for()
    before = Extension.objects.count()
    response = client.post(
        "/extensiones/nueva/",
        {
            "number": "1001",
            "kind": "physical",
            "node": corporate.pk,
            "site": "Sede",
            "department": "Dpto",
        },
    )
    assert response.status_code == 400
    assert "hacen falta 1 y quedan 0" in response.content.decode()
    response = client.post(f"/pools/{pool.pk}/rango/", {"first": "7101", "last": "7110"})
    assert "hacen falta 10 y quedan 0" in response.content.decode()
    assert Extension.objects.count() == before
