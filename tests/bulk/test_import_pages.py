"""General > Importar / exportar and the export buttons of the lists (Django test client)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from bulk.models import Import
from core.roles import ROLE_ADMIN, ROLE_OPERATOR, ROLE_SALES
from tests.factories import PhysicalExtensionFactory, PortalUserFactory
from users.models import PortalUser

pytestmark = pytest.mark.django_db


def post_file(client, kind, content, name="f.csv"):
    return client.post(
        "/importar-exportar/", {"kind": kind, "file": SimpleUploadedFile(name, content)}
    )


def test_upload_preview_with_highlighted_errors_then_apply(browser_for, make_csv, licences):
    client = browser_for(ROLE_ADMIN)
    page = client.get("/importar-exportar/")
    assert page.status_code == 200
    assert "una celda vacía borra un campo opcional" in page.content.decode().lower()
    bad = make_csv(["account", "name", "max_sessions"], [["ana", "Ana", "1"], ["b b", "Bea", "1"]])
    answer = post_file(client, "users", bad)
    assert answer.status_code == 302
    detail = client.get(answer["Location"])
    html = detail.content.decode()
    assert 'id="import-errors"' in html and "account" in html
    assert 'data-error="1">b b<' in html  # the cell in error is highlighted
    assert 'id="import-apply"' not in html
    assert not PortalUser.objects.exists()

    good = make_csv(["account", "name", "max_sessions"], [["ana", "Ana", "1"], ["bea", "Bea", "1"]])
    detail = client.get(post_file(client, "users", good)["Location"])
    assert 'id="import-apply"' in detail.content.decode()
    row = Import.objects.latest("id")
    applied = client.post(f"/importar-exportar/{row.pk}/aplicar/", follow=True)
    assert "Importación aplicada: 2 nuevas" in applied.content.decode()
    assert sorted(PortalUser.objects.values_list("account", flat=True)) == ["ana", "bea"]


def test_an_unreadable_file_is_shown_on_the_form(browser_for):
    client = browser_for(ROLE_ADMIN)
    answer = post_file(client, "users", b"colour\nred\n")
    assert answer.status_code == 200
    assert "Columnas desconocidas" in answer.content.decode()


def test_operador_sees_and_exports_but_cannot_import(browser_for, make_csv):
    client = browser_for(ROLE_OPERATOR)
    page = client.get("/importar-exportar/")
    assert page.status_code == 200 and 'id="import-form"' not in page.content.decode()
    assert post_file(client, "users", make_csv(["account"], [["x"]])).status_code == 403
    assert client.get("/importar-exportar/exportar/users/?format=csv").status_code == 200
    assert browser_for(ROLE_SALES).get("/importar-exportar/").status_code == 403


def test_list_export_buttons_keep_the_filters(browser_for, corporate, licences):
    client = browser_for(ROLE_OPERATOR)
    PhysicalExtensionFactory(number="810", node=corporate, site="Norte")
    PhysicalExtensionFactory(number="811", node=corporate, site="Sur")
    page = client.get("/extensiones/?q=810").content.decode()
    assert "/importar-exportar/exportar/extensions/?q=810&amp;format=csv" in page
    data = client.get("/importar-exportar/exportar/extensions/?q=810&format=csv").content
    assert [line.split(";")[0] for line in data.decode("utf-8-sig").splitlines()[2:]] == ["810"]
    PortalUserFactory(account="ana", name="Ana Pérez")
    PortalUserFactory(account="luis", name="Luis")
    page = client.get("/usuarios/?q=P%C3%A9rez").content.decode()
    assert "/importar-exportar/exportar/users/?q=P%C3%A9rez&amp;format=xlsx" in page
    data = client.get("/importar-exportar/exportar/users/?q=Pérez&format=csv").content
    assert [line.split(";")[0] for line in data.decode("utf-8-sig").splitlines()[2:]] == ["ana"]
