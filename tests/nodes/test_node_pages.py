"""Nodos pages: list, create, edit, delete, through the services, with roles and CSRF."""

import pytest
from django.test import Client

from core.roles import ROLE_OPERATOR, ROLE_SALES
from nodes.models import Node
from tests.factories import NodeFactory, PhysicalExtensionFactory, StaffUserFactory

pytestmark = pytest.mark.django_db


def test_list_filter_search_sort(browser_for):
    NodeFactory(name="corp-b", kind="corporate")
    NodeFactory(name="corp-a", kind="corporate")
    NodeFactory(name="meet", kind="webrtc")
    client = browser_for()
    page = client.get("/nodos/").content.decode()
    assert "corp-a" in page and "Webrtc" in page
    page = client.get("/nodos/", {"kind": "webrtc"}).content.decode()
    assert "meet" in page and "corp-a" not in page
    page = client.get("/nodos/", {"ordering": "-name"}).content.decode()
    assert page.index("meet") < page.index("corp-b") < page.index("corp-a")


def test_list_shows_each_nodes_last_push_in_one_query(browser_for, django_assert_max_num_queries):
    from nodes.models import Push

    rolled, fine, _never = (NodeFactory(name=n, kind="webrtc") for n in ("m1", "m2", "m3"))
    Push.objects.create(node=rolled, reasons=["a"], status="applied")
    last = Push.objects.create(node=rolled, reasons=["b"], status="rolled_back")
    Push.objects.create(node=fine, reasons=["a"], status="applied")
    client = browser_for()
    page = client.get("/nodos/").content.decode()
    row = page[page.index(">m1<") :]
    assert f'href="/nodos/envios/{last.pk}/"' in row[: row.index("</tr>")]
    assert "Revertido" in row[: row.index("</tr>")]
    row = page[page.index(">m3<") :]
    assert "—" in row[: row.index("</tr>")]
    with django_assert_max_num_queries(8) as few:
        client.get("/nodos/")
    for i in range(30):
        Push.objects.create(node=NodeFactory(name=f"x{i}", kind="webrtc"), reasons=["c"])
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/nodos/")


def test_create_and_refusal_next_to_the_field(browser_for):
    client = browser_for()
    response = client.post(
        "/nodos/nuevo/", {"name": "corp", "kind": "corporate", "transport": "ssh"}
    )
    assert response.status_code == 302
    assert Node.objects.filter(name="corp").exists()
    response = client.post(
        "/nodos/nuevo/", {"name": "corp", "kind": "corporate", "transport": "ssh"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_name_error"' in html and "Ya existe un nodo llamado «corp»" in html
    assert Node.objects.count() == 1


def test_delete_refused_with_message(browser_for):
    node = NodeFactory(name="corp")
    PhysicalExtensionFactory(node=node)
    client = browser_for()
    response = client.post(f"/nodos/{node.pk}/borrar/", follow=True)
    assert "tiene 1 extensiones" in response.content.decode()
    assert Node.objects.filter(pk=node.pk).exists()


def test_operador_reads_but_cannot_save(browser_for):
    node = NodeFactory(name="corp")
    client = browser_for(ROLE_OPERATOR)
    assert client.get("/nodos/").status_code == 200
    page = client.get(f"/nodos/{node.pk}/").content.decode()
    assert "Solo lectura" in page
    assert (
        client.post(
            f"/nodos/{node.pk}/", {"name": "x", "kind": "corporate", "transport": "ssh"}
        ).status_code
        == 403
    )
    assert client.get("/nodos/nuevo/").status_code == 403
    assert client.post(f"/nodos/{node.pk}/borrar/").status_code == 403
    node.refresh_from_db()
    assert node.name == "corp"


def test_ventas_and_anonymous(browser_for):
    assert browser_for(ROLE_SALES).get("/nodos/").status_code == 403
    response = Client().get("/nodos/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_forms_need_a_csrf_token():
    client = Client(enforce_csrf_checks=True)
    client.force_login(StaffUserFactory())
    response = client.post(
        "/nodos/nuevo/", {"name": "corp", "kind": "corporate", "transport": "ssh"}
    )
    assert response.status_code == 403
    assert not Node.objects.exists()


def test_list_queries_constant(browser_for, django_assert_max_num_queries):
    client = browser_for()
    client.get("/nodos/")
    NodeFactory.create_batch(5)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        client.get("/nodos/")
    NodeFactory.create_batch(40)
    with CaptureQueriesContext(connection) as large:
        client.get("/nodos/")
    assert len(large.captured_queries) == len(small.captured_queries)
