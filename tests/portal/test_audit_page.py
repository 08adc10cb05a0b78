"""Auditoría: entries filterable by author, object and date, secrets masked."""

import pytest
from django.test import Client

from core.actors import Actor
from core.roles import ROLE_OPERATOR, ROLE_SALES
from extensions.services import extension_create, extension_update
from tests.factories import StaffUserFactory

pytestmark = pytest.mark.django_db


def test_audit_page_shows_before_after_and_masks_secrets(corporate, licences, browser_for):
    carmen = StaffUserFactory(username="carmen")
    extension = extension_create(
        actor=Actor.for_user(carmen),
        number="1001",
        kind="physical",
        node=corporate,
        site="Sede",
        department="Dpto",
        registration_secret="clave-muy-secreta-1",
    )
    extension_update(
        actor=Actor.system("importador"),
        extension=extension,
        site="Norte",
        registration_secret="otra-clave-secreta-2",
    )
    client = browser_for(ROLE_OPERATOR)
    page = client.get("/auditoria/").content.decode()
    assert "extension.create" in page and "extension.update" in page
    assert "Norte" in page and "********" in page
    assert "clave-muy-secreta" not in page and "otra-clave" not in page
    filtered = client.get("/auditoria/", {"actor_label": "carmen"}).content.decode()
    assert "extension.create" in filtered and "extension.update" not in filtered
    by_object = client.get(
        "/auditoria/", {"object_type": "extensions.extension", "action": "extension.update"}
    ).content.decode()
    assert "importador" in by_object and "carmen" not in by_object
    future = client.get("/auditoria/", {"created_at_after": "2999-01-01"}).content.decode()
    assert "extension.create" not in future


def test_audit_page_roles(browser_for):
    assert browser_for(ROLE_SALES).get("/auditoria/").status_code == 403
    assert Client().get("/auditoria/").status_code == 302
