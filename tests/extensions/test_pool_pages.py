"""Pool de extensiones pages: list, create/edit, member picker, members, range preview/confirm."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from core.models import AuditEntry
from core.roles import ROLE_OPERATOR, ROLE_SALES
from extensions.models import Extension, ExtensionPool
from tests.factories import (
    PhysicalExtensionFactory,
    PoolFactory,
    PortalUserFactory,
    StaffUserFactory,
    WebfonExtensionFactory,
)

pytestmark = pytest.mark.django_db


def rows(html: str) -> str:
    return html[html.index("<tbody>") : html.index("</tbody>")]


def field_error(html: str, field: str) -> str:
    """The text of the error shown beside ``field``."""
    start = html.index(f'id="id_{field}_error"')
    return html[start : html.index("</div>", start)]


def test_list_shows_base_and_member_count(browser_for):
    pool = PoolFactory(name="Pool norte", base_extension=WebfonExtensionFactory(number="7000"))
    for number in ("7001", "7002", "7003"):
        WebfonExtensionFactory(number=number, pool=pool)
    PoolFactory(name="Pool sur", base_extension=WebfonExtensionFactory(number="8000"))
    body = rows(browser_for().get("/pools/").content.decode())
    assert "Pool norte" in body and "7000" in body and "<td>3</td>" in body
    assert "Pool sur" in body and "<td>0</td>" in body
    body = rows(browser_for().get("/pools/", {"name": "sur"}).content.decode())
    assert "Pool sur" in body and "Pool norte" not in body
    body = rows(browser_for().get("/pools/", {"ordering": "-member_count"}).content.decode())
    assert body.index("Pool norte") < body.index("Pool sur")


def test_list_query_count_does_not_depend_on_rows(browser_for):
    client = browser_for()

    def make(count: int) -> None:
        for _ in range(count):
            pool = PoolFactory()
            WebfonExtensionFactory.create_batch(2, pool=pool)

    make(3)
    client.get("/pools/")
    with CaptureQueriesContext(connection) as small:
        assert client.get("/pools/").status_code == 200
    make(25)
    with CaptureQueriesContext(connection) as large:
        assert client.get("/pools/").status_code == 200
    assert len(large.captured_queries) == len(small.captured_queries)


def test_create_with_base_and_picked_members(browser_for):
    base = WebfonExtensionFactory(number="7000")
    first, second = WebfonExtensionFactory(number="7001"), WebfonExtensionFactory(number="7002")
    client = browser_for()
    response = client.post(
        "/pools/nuevo/",
        {"name": "Pool norte", "base_extension": "7000", "members": [first.pk, second.pk]},
    )
    pool = ExtensionPool.objects.get(name="Pool norte")
    assert response.status_code == 302 and response["Location"] == f"/pools/{pool.pk}/"
    assert pool.base_extension == base
    assert sorted(pool.members.values_list("number", flat=True)) == ["7001", "7002"]
    base.refresh_from_db()
    assert base.pool is None  # the base extension is a member only if added


def test_create_refusals_beside_their_fields(browser_for):
    PhysicalExtensionFactory(number="1001")
    WebfonExtensionFactory(number="7000")
    pooled = WebfonExtensionFactory(number="7001", pool=PoolFactory(name="Otro"))
    client = browser_for()
    response = client.post("/pools/nuevo/", {"name": "Pool norte", "base_extension": "1001"})
    assert response.status_code == 400
    assert "La extensión base 1001 es física" in field_error(
        response.content.decode(), "base_extension"
    )
    response = client.post("/pools/nuevo/", {"name": "Pool norte", "base_extension": "9999"})
    assert "No existe la extensión «9999»" in field_error(
        response.content.decode(), "base_extension"
    )
    response = client.post(
        "/pools/nuevo/",
        {"name": "Pool norte", "base_extension": "7000", "members": [pooled.pk]},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "ya pertenece al pool «Otro»" in field_error(html, "members")
    # The chosen member stays in the picker, the pool was not created.
    assert f'name="members" value="{pooled.pk}"' in html
    response = client.post("/pools/nuevo/", {"name": "otro", "base_extension": "7000"})
    assert "Ya existe un pool llamado «otro»" in field_error(response.content.decode(), "name")
    assert list(ExtensionPool.objects.values_list("name", flat=True)) == ["Otro"]


def test_edit_name_and_base(browser_for):
    pool = PoolFactory(name="Pool norte")
    WebfonExtensionFactory(number="7100")
    response = browser_for().post(
        f"/pools/{pool.pk}/", {"name": "Pool sur", "base_extension": "7100", "description": "x"}
    )
    assert response.status_code == 302
    pool.refresh_from_db()
    assert pool.name == "Pool sur" and pool.base_extension.number == "7100"


def test_picker_search_excludes_physical_pooled_and_fixed_extensions(browser_for):
    pool = PoolFactory(name="Pool norte", base_extension=WebfonExtensionFactory(number="7000"))
    PhysicalExtensionFactory(number="7001")
    WebfonExtensionFactory(number="7002", pool=PoolFactory(name="Otro"))
    fixed = WebfonExtensionFactory(number="7003")
    PortalUserFactory(webfon_extension=fixed)
    WebfonExtensionFactory(number="7004")
    WebfonExtensionFactory(number="8004")
    client = browser_for()
    html = client.get("/pools/candidatas/", {"q": "700", "mode": "add", "pool": pool.pk})
    html = html.content.decode()
    for absent in ("7001", "7002", "7003", "8004"):
        assert absent not in html
    assert "7000" in html and "7004" in html  # the base extension may be added
    assert f'action="/pools/{pool.pk}/miembros/"' in html and "<html" not in html
    staged = client.get("/pools/candidatas/", {"q": "04", "mode": "stage"}).content.decode()
    assert 'data-add="' in staged and "7004" in staged and "8004" in staged
    assert "<form" not in staged  # a new pool: "Añadir" only fills the form


def test_picker_returns_at_most_20(browser_for):
    for n in range(25):
        WebfonExtensionFactory(number=str(7100 + n))
    html = browser_for().get("/pools/candidatas/", {"mode": "stage"}).content.decode()
    assert html.count("data-add=") == 20 and "7119" in html and "7120" not in html


def test_pool_page_lists_members_and_candidates(browser_for):
    pool = PoolFactory(base_extension=WebfonExtensionFactory(number="7000"))
    WebfonExtensionFactory(number="7001", pool=pool)
    WebfonExtensionFactory(number="7002")
    html = browser_for().get(f"/pools/{pool.pk}/").content.decode()
    members = html[html.index('id="members"') : html.index('id="member-search"')]
    assert "7001" in members and "Miembros (1)" in members and "Quitar" in members
    results = html[html.index('id="member-results"') : html.index('id="range"')]
    assert "7002" in results and "7001" not in results
    html = browser_for().get(f"/pools/{pool.pk}/", {"q": "7002"}).content.decode()
    results = html[html.index('id="member-results"') : html.index('id="range"')]
    assert "7002" in results and "7000" not in results


def test_add_member_and_refusal(browser_for):
    pool = PoolFactory(name="Pool norte")
    free = WebfonExtensionFactory(number="7001")
    physical = PhysicalExtensionFactory(number="1001")
    client = browser_for()
    response = client.post(f"/pools/{pool.pk}/miembros/", {"extension": free.pk}, follow=True)
    assert "Extensión 7001 añadida al pool «Pool norte»" in response.content.decode()
    free.refresh_from_db()
    assert free.pool == pool
    response = client.post(f"/pools/{pool.pk}/miembros/", {"extension": physical.pk})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="members_error"' in html and "La extensión 1001 es física" in html
    physical.refresh_from_db()
    assert physical.pool is None
    response = client.post(f"/pools/{pool.pk}/miembros/", {"extension": "abc"})
    assert response.status_code == 400 and "Elija una extensión" in response.content.decode()


def test_remove_member(browser_for):
    pool = PoolFactory(name="Pool norte")
    member = WebfonExtensionFactory(number="7001", pool=pool)
    other = WebfonExtensionFactory(number="7002")
    client = browser_for()
    response = client.post(f"/pools/{pool.pk}/miembros/{member.pk}/quitar/", follow=True)
    assert "Extensión 7001 quitada del pool «Pool norte»" in response.content.decode()
    member.refresh_from_db()
    assert member.pool is None and Extension.objects.filter(pk=member.pk).exists()
    assert AuditEntry.objects.filter(action="pool.remove_member", object_id=str(pool.pk)).exists()
    response = client.post(f"/pools/{pool.pk}/miembros/{other.pk}/quitar/")
    assert response.status_code == 400
    assert "no es miembro del pool" in response.content.decode()


def test_range_preview_saves_nothing_and_shows_existing_numbers(browser_for, set_stock):
    set_stock(100)
    pool = PoolFactory(name="Pool norte", base_extension=WebfonExtensionFactory(number="7000"))
    PhysicalExtensionFactory(number="7503")
    client = browser_for()
    before = (Extension.objects.count(), AuditEntry.objects.count())
    response = client.get(f"/pools/{pool.pk}/rango/", {"first": "7500", "last": "7505"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Se crearán 6 extensiones webfon: 7500..7505" in html
    assert "7500 7501 7502 7503 7504 7505" in html
    existing = html[html.index('id="preview-existing"') :]
    assert "7503 (Física)" in existing[: existing.index("</div>")]
    assert "necesita 6; quedan 98 libres" in html
    assert 'method="post"' not in html[html.index('id="preview"') :]  # no confirm button
    assert (Extension.objects.count(), AuditEntry.objects.count()) == before

    html = client.get(
        f"/pools/{pool.pk}/rango/", {"first": "7600", "last": "7605"}
    ).content.decode()
    assert "Crear 6 extensiones" in html and "preview-existing" not in html
    assert (Extension.objects.count(), AuditEntry.objects.count()) == before


def test_range_preview_shows_missing_licences(browser_for, set_stock):
    pool = PoolFactory(base_extension=WebfonExtensionFactory(number="7000"))
    set_stock(3)
    html = browser_for().get(f"/pools/{pool.pk}/rango/", {"first": "7500", "last": "7505"})
    html = html.content.decode()
    assert "necesita 6; quedan 2 libres" in html and "No hay licencias suficientes" in html
    assert "Crear 6 extensiones" not in html


def test_range_errors_beside_first_and_last(browser_for):
    pool = PoolFactory()
    client = browser_for()
    response = client.get(f"/pools/{pool.pk}/rango/", {"first": "7510", "last": "7500"})
    assert response.status_code == 400
    assert "es menor que la primera" in field_error(response.content.decode(), "last")
    response = client.get(f"/pools/{pool.pk}/rango/", {"first": "75a", "last": "7500"})
    assert "no es un número de extensión" in field_error(response.content.decode(), "first")


def test_range_confirm_creates_members_with_the_base_profile(browser_for, licences):
    base = WebfonExtensionFactory(number="7000", site="Sede norte", department="Soporte")
    pool = PoolFactory(name="Pool norte", base_extension=base)
    client = browser_for()
    response = client.post(
        f"/pools/{pool.pk}/rango/", {"first": "7500", "last": "7504"}, follow=True
    )
    assert response.redirect_chain[-1][0] == f"/pools/{pool.pk}/"
    assert "Creadas 5 extensiones webfon (7500..7504)" in response.content.decode()
    created = Extension.objects.filter(number__gte="7500", number__lte="7504")
    assert created.count() == 5
    assert set(created.values_list("pool", "kind", "site", "department", "template")) == {
        (pool.pk, "webfon", "Sede norte", "Soporte", base.template_id)
    }
    base.refresh_from_db()
    assert base.pool is None


def test_range_confirm_refused_when_a_number_exists(browser_for, licences):
    pool = PoolFactory()
    PhysicalExtensionFactory(number="7502")
    response = browser_for().post(f"/pools/{pool.pk}/rango/", {"first": "7500", "last": "7504"})
    assert response.status_code == 400
    html = response.content.decode()
    error = html[html.index('id="range_error"') :]
    assert "7502" in error[: error.index("</div>")]
    assert not Extension.objects.filter(number="7500").exists()


def test_delete_pool_keeps_members(browser_for):
    pool = PoolFactory(name="Pool norte")
    member = WebfonExtensionFactory(pool=pool)
    response = browser_for().post(f"/pools/{pool.pk}/borrar/", follow=True)
    assert "«Pool norte» borrado" in response.content.decode()
    assert not ExtensionPool.objects.exists()
    member.refresh_from_db()
    assert member.pool is None


def test_operador_reads_but_cannot_change(browser_for, licences):
    pool = PoolFactory(name="Pool norte")
    member = WebfonExtensionFactory(number="7001", pool=pool)
    free = WebfonExtensionFactory(number="7002")
    client = browser_for(ROLE_OPERATOR)
    assert client.get("/pools/").status_code == 200
    html = client.get(f"/pools/{pool.pk}/").content.decode()
    assert "Solo lectura" in html and "7001" in html
    assert "Quitar" not in html and 'id="member-search"' not in html
    preview = client.get(f"/pools/{pool.pk}/rango/", {"first": "7500", "last": "7501"})
    assert preview.status_code == 200 and "Crear 2 extensiones" not in preview.content.decode()
    assert client.get("/pools/nuevo/").status_code == 403
    assert (
        client.post(f"/pools/{pool.pk}/", {"name": "x", "base_extension": "7001"}).status_code
        == 403
    )
    assert client.post(f"/pools/{pool.pk}/miembros/", {"extension": free.pk}).status_code == 403
    assert client.post(f"/pools/{pool.pk}/miembros/{member.pk}/quitar/").status_code == 403
    response = client.post(f"/pools/{pool.pk}/rango/", {"first": "7500", "last": "7501"})
    assert response.status_code == 403
    assert client.post(f"/pools/{pool.pk}/borrar/").status_code == 403
    member.refresh_from_db()
    free.refresh_from_db()
    assert member.pool == pool and free.pool is None
    assert not Extension.objects.filter(number="7500").exists()


def test_ventas_and_anonymous():
    pool = PoolFactory()
    sales = Client()
    sales.force_login(StaffUserFactory(role=ROLE_SALES))
    for url in ("/pools/", f"/pools/{pool.pk}/", "/pools/candidatas/", f"/pools/{pool.pk}/rango/"):
        assert sales.get(url).status_code == 403
        response = Client().get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_forms_need_a_csrf_token(licences):
    pool = PoolFactory()
    member = WebfonExtensionFactory(pool=pool)
    free = WebfonExtensionFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(StaffUserFactory())
    base = pool.base_extension.number
    assert client.post("/pools/nuevo/", {"name": "x", "base_extension": base}).status_code == 403
    assert client.post(f"/pools/{pool.pk}/miembros/", {"extension": free.pk}).status_code == 403
    assert client.post(f"/pools/{pool.pk}/miembros/{member.pk}/quitar/").status_code == 403
    response = client.post(f"/pools/{pool.pk}/rango/", {"first": "7500", "last": "7501"})
    assert response.status_code == 403
    member.refresh_from_db()
    free.refresh_from_db()
    assert member.pool == pool and free.pool is None
    assert ExtensionPool.objects.count() == 1
    assert not Extension.objects.filter(number="7500").exists()
