"""Templates (manual §7.2)."""

from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from core.exceptions import ServiceConflict
from extensions.models import SYSTEM_TEMPLATE_NAME, Template
from extensions.services import (
    template_create,
    template_delete,
    template_duplicate,
    template_update,
)
from extensions.sip import render_sip_options
from tests.factories import WebfonExtensionFactory

pytestmark = pytest.mark.django_db
REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "plantilla-webfon.txt"


def system():
    return Template.objects.get(is_system=True)


def test_system_template_has_the_manual_value():
    template = system()
    assert template.name == SYSTEM_TEMPLATE_NAME
    assert template.webfon
    assert template.value.splitlines() == REFERENCE.read_text().splitlines()


def test_system_template_cannot_be_edited(actor):
    with pytest.raises(ValidationError) as exc:
        template_update(actor=actor, template=system(), value="qualify=no")
    assert SYSTEM_TEMPLATE_NAME in str(exc.value)
    assert system().value.splitlines() == REFERENCE.read_text().splitlines()


def test_system_template_cannot_be_deleted(actor):
    with pytest.raises(ValidationError):
        template_delete(actor=actor, template=system())
    assert Template.objects.filter(is_system=True).exists()


def test_copy_name_must_keep_the_mark(actor):
    with pytest.raises(ValidationError) as exc:
        template_duplicate(actor=actor, template=system(), name="Mi plantilla")
    assert "Mi plantilla" in exc.value.message_dict["name"][0]
    assert Template.objects.count() == 1
    copy = template_duplicate(
        actor=actor, template=system(), name="Plantilla Extensiones webfon Norte"
    )
    assert copy.webfon and copy.copied_from == system() and copy.value == system().value
    with pytest.raises(ValidationError):
        template_update(actor=actor, template=copy, name="Norte")
    copy.refresh_from_db()
    assert copy.name == "Plantilla Extensiones webfon Norte"


def test_copy_can_be_edited_and_deleted(actor):
    copy = template_duplicate(actor=actor, template=system(), name="Extensiones webfon B")
    template_update(actor=actor, template=copy, value="username=${SIP.EXTEN}\nqualify=no")
    copy.refresh_from_db()
    assert copy.render("7001") == "username=7001\nqualify=no"
    template_delete(actor=actor, template=copy)
    assert not Template.objects.filter(pk=copy.pk).exists()


def test_template_in_use_cannot_be_deleted(actor):
    copy = template_duplicate(actor=actor, template=system(), name="Extensiones webfon C")
    WebfonExtensionFactory(number="7555", template=copy)
    with pytest.raises(ServiceConflict) as exc:
        template_delete(actor=actor, template=copy)
    assert "Extensiones webfon C" in str(exc.value)


def test_webfon_copy_cannot_stop_being_webfon(actor):
    copy = template_duplicate(actor=actor, template=system(), name="Extensiones webfon D")
    with pytest.raises(ValidationError):
        template_update(actor=actor, template=copy, webfon=False)


def test_duplicate_name_refused(actor):
    template_create(actor=actor, name="SIP básico", value="qualify=yes")
    with pytest.raises(ServiceConflict):
        template_create(actor=actor, name="SIP básico", value="x=y")


def test_database_holds_the_name_mark():
    with pytest.raises(IntegrityError), transaction.atomic():
        Template.objects.create(name="Sin marca", value="x", webfon=True)


def test_render_sip_options_is_pure():
    assert render_sip_options("a=${SIP.EXTEN}\nb=${SIP.EXTEN}@x", "42") == "a=42\nb=42@x"
    assert render_sip_options("qualify=yes", "42") == "qualify=yes"
