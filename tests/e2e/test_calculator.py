"""The sales calculator in a real browser (issue: licensing)."""

import pytest

from tests.factories import PhysicalExtensionFactory, PoolFactory, WebfonExtensionFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_sales_fill_the_calculator_and_from_installation(visit, staff, set_stock):
    set_stock(1000)
    PhysicalExtensionFactory.create_batch(4)
    WebfonExtensionFactory.create_batch(2)
    WebfonExtensionFactory.create_batch(3, pool=PoolFactory())
    staff("ventas", username="vendedora")
    visit.login("vendedora")

    page = visit.goto("/licencias/calculadora/", "calculator-empty")
    page.fill("#id_physical", "100")
    page.fill("#id_fixed_webfon", "5")
    page.fill("input[name=pool_size]", "25")
    page.click("#calculate")
    page.wait_for_selector("#total")
    visit.shot("calculator-result")
    assert page.inner_text("#total") == "130"
    assert (
        page.inner_text("#summary")
        == "100 extensiones HARD + 30 extensiones WEBFON = 130 licencias"
    )
    assert "physical=100" in page.url and "pool_size=25" in page.url

    page.click("#add-pool")
    page.locator("input[name=pool_size]").nth(1).fill("10")
    page.click("#calculate")
    page.wait_for_selector("#total")
    assert page.inner_text("#total") == "140"

    page.click("#from-installation")
    page.wait_for_selector("#total")
    visit.shot("calculator-from-installation")
    # 4 physical + (2 fixed + the pool's base) + a pool of 3
    assert page.input_value("#id_physical") == "4"
    assert page.input_value("#id_fixed_webfon") == "3"
    assert page.inner_text("#total") == "10"
