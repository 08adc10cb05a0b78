"""Plantillas pages: list, create, edit, delete; the system template is read-only and duplicable."""

import re

import pytest
from django.test import Client

from core.models import AuditEntry
from core.roles import ROLE_OPERATOR, ROLE_SALES
from extensions.models import SYSTEM_TEMPLATE_NAME, Template
from tests.factories import StaffUserFactory, WebfonExtensionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def system():
    return Template.objects.get(is_system=True)


def field_error(html: str, field: str) -> str:
    start = html.index(f'id="id_{field}_error"')
    return html[start : html.index("</div>", start)]


def test_list_system_first_and_filter(browser_for, system):
    Template.objects.create(name="Agentes", value="qualify=yes")
    client = browser_for()
    html = client.get("/plantillas/").content.decode()
    body = html[html.index("<tbody>") :]
    assert body.index(SYSTEM_TEMPLATE_NAME) < body.index("Agentes")
    body = client.get("/plantillas/", {"name": "agent"}).content.decode()
    body = body[body.index("<tbody>") :]
    assert "Agentes" in body and SYSTEM_TEMPLATE_NAME not in body


def test_system_template_is_read_only(browser_for, system):
    client = browser_for()
    html = client.get(f"/plantillas/{system.pk}/").content.decode()
    assert 'id="system-template"' in html
    assert "<fieldset disabled>" in html
    assert re.search(r'<textarea[^>]* disabled[^>]* id="id_value"', html)
    assert re.search(r'<input[^>]* disabled[^>]* id="id_name"', html)
    assert ">Guardar<" not in html and f"/plantillas/{system.pk}/borrar/" not in html
    assert "username=${SIP.EXTEN}" in html
    value = system.value
    response = client.post(
        f"/plantillas/{system.pk}/", {"name": SYSTEM_TEMPLATE_NAME, "value": "x=1", "webfon": "on"}
    )
    assert response.status_code == 400
    assert "es de sistema y no se puede modificar" in response.content.decode()
    response = client.post(f"/plantillas/{system.pk}/borrar/", follow=True)
    assert "es de sistema y no se puede borrar" in response.content.decode()
    system.refresh_from_db()
    assert system.value == value and system.name == SYSTEM_TEMPLATE_NAME


def test_duplicate_must_keep_the_webfon_mark(browser_for, system):
    client = browser_for()
    html = client.get(f"/plantillas/{system.pk}/").content.decode()
    assert f'value="{SYSTEM_TEMPLATE_NAME} (copia)"' in html
    response = client.post(f"/plantillas/{system.pk}/duplicar/", {"duplicate-name": "Mi copia"})
    assert response.status_code == 400
    error = field_error(response.content.decode(), "duplicate-name")
    assert "no contiene «Extensiones webfon»" in error
    assert Template.objects.count() == 1

    response = client.post(
        f"/plantillas/{system.pk}/duplicar/",
        {"duplicate-name": "Extensiones webfon con vídeo"},
        follow=True,
    )
    copy = Template.objects.get(name="Extensiones webfon con vídeo")
    assert response.redirect_chain[-1][0] == f"/plantillas/{copy.pk}/"
    html = response.content.decode()
    assert "creada como copia de" in html and ">Guardar<" in html and "<fieldset >" in html
    assert copy.webfon and copy.copied_from == system and copy.value == system.value
    assert AuditEntry.objects.filter(action="template.duplicate").count() == 1

    response = client.post(
        f"/plantillas/{system.pk}/duplicar/", {"duplicate-name": "extensiones webfon con vídeo"}
    )
    assert "Ya existe una plantilla" in field_error(response.content.decode(), "duplicate-name")


def test_edit_and_delete_a_copy(browser_for, system):
    copy = Template.objects.create(
        name="Extensiones webfon B", value="a=1", webfon=True, copied_from=system
    )
    client = browser_for()
    response = client.post(
        f"/plantillas/{copy.pk}/",
        {"name": "Extensiones webfon C", "value": "qualify=no", "webfon": "on"},
    )
    assert response.status_code == 302
    copy.refresh_from_db()
    assert copy.name == "Extensiones webfon C" and copy.value == "qualify=no"
    response = client.post(
        f"/plantillas/{copy.pk}/", {"name": "Sin marca", "value": "qualify=no", "webfon": "on"}
    )
    assert response.status_code == 400
    assert "no contiene «Extensiones webfon»" in field_error(response.content.decode(), "name")
    copy.refresh_from_db()
    assert copy.name == "Extensiones webfon C"

    used = Template.objects.create(name="Extensiones webfon D", value="a=1", webfon=True)
    WebfonExtensionFactory(template=used)
    response = client.post(f"/plantillas/{used.pk}/borrar/", follow=True)
    assert "la usan 1 extensiones" in response.content.decode()
    response = client.post(f"/plantillas/{copy.pk}/borrar/", follow=True)
    assert "«Extensiones webfon C» borrado" in response.content.decode()
    assert set(Template.objects.values_list("name", flat=True)) == {
        SYSTEM_TEMPLATE_NAME,
        "Extensiones webfon D",
    }


def test_create_and_name_conflict_beside_the_field(browser_for):
    client = browser_for()
    response = client.post("/plantillas/nueva/", {"name": "Agentes", "value": "qualify=yes"})
    assert response.status_code == 302
    assert not Template.objects.get(name="Agentes").webfon
    response = client.post("/plantillas/nueva/", {"name": "agentes", "value": "qualify=no"})
    assert response.status_code == 400
    assert "Ya existe una plantilla llamada «agentes»" in field_error(
        response.content.decode(), "name"
    )
    assert Template.objects.filter(name__iexact="agentes").count() == 1


def test_operador_reads_but_cannot_save(browser_for, system):
    copy = Template.objects.create(name="Extensiones webfon B", value="a=1", webfon=True)
    client = browser_for(ROLE_OPERATOR)
    assert client.get("/plantillas/").status_code == 200
    html = client.get(f"/plantillas/{copy.pk}/").content.decode()
    assert "Solo lectura" in html and ">Guardar<" not in html and "duplicar" not in html
    data = {"name": "Extensiones webfon X", "value": "b=2", "webfon": "on"}
    assert client.post(f"/plantillas/{copy.pk}/", data).status_code == 403
    assert client.get("/plantillas/nueva/").status_code == 403
    response = client.post(
        f"/plantillas/{system.pk}/duplicar/", {"duplicate-name": "Extensiones webfon Z"}
    )
    assert response.status_code == 403
    assert client.post(f"/plantillas/{copy.pk}/borrar/").status_code == 403
    assert Template.objects.count() == 2
    copy.refresh_from_db()
    assert copy.name == "Extensiones webfon B"


def test_ventas_and_anonymous(system):
    sales = Client()
    sales.force_login(StaffUserFactory(role=ROLE_SALES))
    for url in ("/plantillas/", f"/plantillas/{system.pk}/", "/plantillas/nueva/"):
        assert sales.get(url).status_code == 403
        response = Client().get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_forms_need_a_csrf_token(system):
    client = Client(enforce_csrf_checks=True)
    client.force_login(StaffUserFactory())
    response = client.post(
        f"/plantillas/{system.pk}/duplicar/", {"duplicate-name": "Extensiones webfon Z"}
    )
    assert response.status_code == 403
    assert client.post("/plantillas/nueva/", {"name": "A", "value": "a=1"}).status_code == 403
    assert Template.objects.count() == 1


def test_list_filters_by_webfon_with_a_yes_no_select(browser_for):
    client = browser_for()
    Template.objects.create(name="Plantilla física", value="allow=alaw", webfon=False)
    page = client.get("/plantillas/").content.decode()
    assert "Desconocido" not in page and "Todas" in page
    only_webfon = client.get("/plantillas/", {"webfon": "true"}).content.decode()
    assert (
        "Plantilla física" not in only_webfon and "Plantilla para Extensiones webfon" in only_webfon
    )
    physical = client.get("/plantillas/", {"webfon": "false"}).content.decode()
    assert "Plantilla física" in physical and "Plantilla para Extensiones webfon" not in physical
