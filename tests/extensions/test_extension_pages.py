"""Extensiones pages: list, create, edit, delete and the secret reveal, through the services."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from core.models import AuditEntry
from core.roles import ROLE_OPERATOR, ROLE_SALES
from extensions.models import Extension
from tests.factories import (
    NodeFactory,
    PhysicalExtensionFactory,
    PoolFactory,
    PortalUserFactory,
    StaffUserFactory,
    WebfonExtensionFactory,
    WebrtcNodeFactory,
)

pytestmark = pytest.mark.django_db


def form_data(node, **overrides) -> dict:
    data = {
        "number": "2001",
        "kind": "physical",
        "node": node.pk,
        "template": "",
        "site": "Sede central",
        "department": "Ventas",
        "registration_secret": "",
        "owner": "",
        "pool": "",
    }
    data.update(overrides)
    return data


def rows(html: str) -> str:
    """The table body of a list page (the filter form lists nodes and pools too)."""
    return html[html.index("<tbody>") : html.index("</tbody>")]


def test_list_columns_filters_search_and_sort(browser_for):
    node_a, node_b = NodeFactory(name="corp-a"), NodeFactory(name="corp-b")
    owner = PortalUserFactory(account="ana", name="Ana")
    PhysicalExtensionFactory(number="1001", node=node_a, owner=owner, department="Compras")
    PhysicalExtensionFactory(number="1002", node=node_b)
    pooled = WebfonExtensionFactory(number="7001", node=node_a)
    pool = PoolFactory(name="Pool norte", base_extension=pooled)
    Extension.objects.filter(pk=pooled.pk).update(pool=pool)
    WebfonExtensionFactory(number="7002", node=node_b)
    client = browser_for()

    body = rows(client.get("/extensiones/").content.decode())
    for text in ("1001", "Física", "corp-a", "Compras", "ana (Ana)", "7001", "Pool norte"):
        assert text in body
    assert "Plantilla para Extensiones webfon" in body

    body = rows(client.get("/extensiones/", {"kind": "webfon"}).content.decode())
    assert "7001" in body and "7002" in body and "1001" not in body
    body = rows(client.get("/extensiones/", {"node": node_b.pk}).content.decode())
    assert "1002" in body and "7002" in body and "1001" not in body and "7001" not in body
    body = rows(client.get("/extensiones/", {"pool": pool.pk}).content.decode())
    assert "7001" in body and "7002" not in body
    body = rows(client.get("/extensiones/", {"owner": "ana"}).content.decode())
    assert "1001" in body and "1002" not in body
    body = rows(client.get("/extensiones/", {"q": "700"}).content.decode())
    assert "7001" in body and "7002" in body and "1001" not in body

    body = rows(client.get("/extensiones/", {"ordering": "-number"}).content.decode())
    assert body.index("7002") < body.index("7001") < body.index("1002") < body.index("1001")
    body = rows(client.get("/extensiones/", {"ordering": "node"}).content.decode())
    assert body.index("1001") < body.index("1002")


def test_list_paginates_by_50(browser_for):
    node = NodeFactory()
    for n in range(55):
        PhysicalExtensionFactory(number=f"{3000 + n}", node=node)
    client = browser_for()
    first = rows(client.get("/extensiones/").content.decode())
    assert "3049" in first and "3050" not in first
    second = client.get("/extensiones/", {"page": 2}).content.decode()
    assert "3054" in rows(second) and "Página 2 de 2 (55)" in second


def test_list_query_count_does_not_depend_on_rows(browser_for):
    client = browser_for()

    def make(count: int, start: int) -> None:
        for n in range(count):
            node = NodeFactory()
            owner = PortalUserFactory()
            PhysicalExtensionFactory(number=str(start + 2 * n), node=node, owner=owner)
            base = WebfonExtensionFactory(number=str(start + 2 * n + 1), node=node)
            pool = PoolFactory(base_extension=base)
            Extension.objects.filter(pk=base.pk).update(pool=pool)

    make(3, 10_000)
    client.get("/extensiones/")
    with CaptureQueriesContext(connection) as small:
        assert client.get("/extensiones/").status_code == 200
    make(20, 20_000)
    with CaptureQueriesContext(connection) as large:
        assert client.get("/extensiones/").status_code == 200
    assert len(large.captured_queries) == len(small.captured_queries)


def test_create_physical_generates_a_hidden_secret(browser_for, corporate, licences):
    owner = PortalUserFactory(account="ana")
    client = browser_for()
    response = client.post(
        "/extensiones/nueva/", form_data(corporate, number="2001", owner="ana"), follow=True
    )
    assert response.redirect_chain[-1][0] == "/extensiones/"
    assert "«2001» guardado" in response.content.decode()
    extension = Extension.objects.get(number="2001")
    assert extension.kind == "physical" and extension.owner == owner
    assert len(extension.registration_secret) >= 12
    assert extension.registration_secret not in response.content.decode()
    page = client.get(f"/extensiones/{extension.pk}/").content.decode()
    assert extension.registration_secret not in page
    assert 'type="password" name="registration_secret"' in page


def test_create_webfon_defaults_to_the_system_template(browser_for, corporate, licences):
    client = browser_for()
    response = client.post(
        "/extensiones/nueva/", form_data(corporate, number="7100", kind="webfon")
    )
    assert response.status_code == 302
    extension = Extension.objects.get(number="7100")
    assert extension.template.is_system and extension.pool is None


def test_create_webfon_in_a_pool(browser_for, corporate, licences):
    pool = PoolFactory(name="Pool sur")
    client = browser_for()
    response = client.post(
        "/extensiones/nueva/", form_data(corporate, number="7200", kind="webfon", pool=pool.pk)
    )
    assert response.status_code == 302
    assert Extension.objects.get(number="7200").pool == pool


def test_webfon_number_equal_to_a_physical_one_shows_the_error_beside_the_number(
    browser_for, corporate, licences
):
    PhysicalExtensionFactory(number="2001", node=corporate)
    client = browser_for()
    response = client.post(
        "/extensiones/nueva/", form_data(corporate, number="2001", kind="webfon")
    )
    assert response.status_code == 400
    html = response.content.decode()
    error = html[html.index('id="id_number_error"') :]
    assert error.index("El número 2001 es una extensión física") < error.index("</div>")
    assert Extension.objects.filter(number="2001").count() == 1
    # The user's input stays in the form.
    assert 'value="Ventas"' in html


def test_physical_extension_has_no_pool_field(browser_for, corporate, licences):
    physical = PhysicalExtensionFactory(node=corporate)
    webfon = WebfonExtensionFactory(node=corporate)
    client = browser_for()
    page = client.get(f"/extensiones/{physical.pk}/").content.decode()
    assert 'name="pool"' not in page and 'name="owner"' in page
    page = client.get(f"/extensiones/{webfon.pk}/").content.decode()
    assert 'name="pool"' in page and 'name="owner"' not in page
    # A new extension offers both (JS hides one); a physical one in a pool is refused there.
    pool = PoolFactory()
    response = client.post("/extensiones/nueva/", form_data(corporate, number="2002", pool=pool.pk))
    assert response.status_code == 400
    html = response.content.decode()
    error = html[html.index('id="id_pool_error"') :]
    assert error.index("los miembros de un pool son extensiones webfon") < error.index("</div>")
    assert not Extension.objects.filter(number="2002").exists()


def test_webrtc_node_and_unknown_owner_are_refused_beside_their_fields(
    browser_for, corporate, licences
):
    client = browser_for()
    response = client.post(
        "/extensiones/nueva/", form_data(WebrtcNodeFactory(), number="2003", owner="nadie")
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_node_error"' in html
    assert 'id="id_owner_error"' in html and "«nadie»" in html
    assert not Extension.objects.filter(number="2003").exists()


def test_edit_keeps_the_secret_when_left_empty(browser_for, corporate, licences):
    extension = PhysicalExtensionFactory(number="2001", node=corporate)
    secret = extension.registration_secret
    client = browser_for()
    response = client.post(
        f"/extensiones/{extension.pk}/", form_data(corporate, number="2001", site="Sede norte")
    )
    assert response.status_code == 302
    extension.refresh_from_db()
    assert extension.site == "Sede norte" and extension.registration_secret == secret
    response = client.post(
        f"/extensiones/{extension.pk}/",
        form_data(corporate, number="2001", registration_secret="una-clave-nueva-larga"),
    )
    assert response.status_code == 302
    extension.refresh_from_db()
    assert extension.registration_secret == "una-clave-nueva-larga"


def test_delete_and_refused_delete(browser_for, corporate):
    extension = PhysicalExtensionFactory(number="2001", node=corporate)
    fixed = WebfonExtensionFactory(number="7001", node=corporate)
    PortalUserFactory(account="luis", webfon_extension=fixed)
    client = browser_for()
    assert (
        "¿Borrar extensión «2001»?"
        in client.get(f"/extensiones/{extension.pk}/borrar/").content.decode()
    )
    response = client.post(f"/extensiones/{extension.pk}/borrar/", follow=True)
    assert "«2001» borrado" in response.content.decode()
    assert not Extension.objects.filter(pk=extension.pk).exists()
    response = client.post(f"/extensiones/{fixed.pk}/borrar/", follow=True)
    assert "extensión webfon fija del usuario luis" in response.content.decode()
    assert Extension.objects.filter(pk=fixed.pk).exists()


def test_secret_is_revealed_only_to_administrators_and_audited(browser_for, corporate):
    extension = PhysicalExtensionFactory(number="2001", node=corporate)
    secret = extension.registration_secret
    admin = browser_for()
    page = admin.get(f"/extensiones/{extension.pk}/").content.decode()
    assert secret not in page and f'action="/extensiones/{extension.pk}/clave/"' in page

    response = admin.post(f"/extensiones/{extension.pk}/clave/")
    assert response.status_code == 200
    assert secret in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    fragment = admin.post(f"/extensiones/{extension.pk}/clave/", headers={"HX-Request": "true"})
    assert secret in fragment.content.decode() and "<html" not in fragment.content.decode()
    reveals = AuditEntry.objects.filter(
        action="extension.reveal_secret", object_id=str(extension.pk)
    )
    assert reveals.count() == 2
    assert admin.get(f"/extensiones/{extension.pk}/clave/").status_code == 405

    operator = browser_for(ROLE_OPERATOR)
    page = operator.get(f"/extensiones/{extension.pk}/").content.decode()
    assert secret not in page and "/clave/" not in page
    assert operator.post(f"/extensiones/{extension.pk}/clave/").status_code == 403
    assert browser_for(ROLE_SALES).post(f"/extensiones/{extension.pk}/clave/").status_code == 403
    assert reveals.count() == 2


def test_operador_reads_but_cannot_save(browser_for, corporate, licences):
    extension = PhysicalExtensionFactory(number="2001", node=corporate, site="Sede central")
    client = browser_for(ROLE_OPERATOR)
    assert client.get("/extensiones/").status_code == 200
    page = client.get(f"/extensiones/{extension.pk}/").content.decode()
    assert "Solo lectura" in page and "<fieldset disabled>" in page and "Guardar" not in page
    response = client.post(f"/extensiones/{extension.pk}/", form_data(corporate, site="Otra"))
    assert response.status_code == 403
    assert client.get("/extensiones/nueva/").status_code == 403
    assert (
        client.post("/extensiones/nueva/", form_data(corporate, number="2002")).status_code == 403
    )
    assert client.post(f"/extensiones/{extension.pk}/borrar/").status_code == 403
    extension.refresh_from_db()
    assert extension.site == "Sede central"
    assert Extension.objects.count() == 1


def test_ventas_and_anonymous():
    extension = PhysicalExtensionFactory()
    sales = Client()
    sales.force_login(StaffUserFactory(role=ROLE_SALES))
    for url in ("/extensiones/", "/extensiones/nueva/", f"/extensiones/{extension.pk}/"):
        assert sales.get(url).status_code == 403
        response = Client().get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]
    response = Client().post(f"/extensiones/{extension.pk}/clave/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_forms_need_a_csrf_token(corporate, licences):
    extension = PhysicalExtensionFactory(number="2001", node=corporate)
    client = Client(enforce_csrf_checks=True)
    client.force_login(StaffUserFactory())
    assert (
        client.post("/extensiones/nueva/", form_data(corporate, number="2002")).status_code == 403
    )
    assert client.post(f"/extensiones/{extension.pk}/borrar/").status_code == 403
    assert client.post(f"/extensiones/{extension.pk}/clave/").status_code == 403
    assert not AuditEntry.objects.filter(action="extension.reveal_secret").exists()
    assert list(Extension.objects.values_list("number", flat=True)) == ["2001"]
    # The pages carry the token.
    assert "csrfmiddlewaretoken" in client.get(f"/extensiones/{extension.pk}/").content.decode()
