"""Rules on extension numbers, kinds and nodes (manual §7.4, §7.5)."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from core.exceptions import ServiceConflict
from core.models import AuditEntry
from extensions.models import Extension
from extensions.services import extension_create, extension_delete, extension_update
from tests.factories import (
    PhysicalExtensionFactory,
    PoolFactory,
    PortalUserFactory,
    WebfonExtensionFactory,
    WebrtcNodeFactory,
)

pytestmark = pytest.mark.django_db


def create(actor, node, number, kind="physical", **kwargs):
    return extension_create(
        actor=actor, number=number, kind=kind, node=node, site="Sede", department="Dpto", **kwargs
    )


def test_create_physical_and_webfon(actor, corporate, licences):
    physical = create(actor, corporate, "1001")
    webfon = create(actor, corporate, "7001", kind="webfon")
    assert physical.kind == "physical" and physical.template is None
    assert webfon.template.is_system  # the webfon template is the default for webfon
    assert len(physical.registration_secret) >= 20
    assert physical.registration_secret != webfon.registration_secret


def test_number_unique_same_kind(actor, corporate, licences):
    create(actor, corporate, "1001")
    with pytest.raises(ServiceConflict) as exc:
        create(actor, corporate, "1001")
    assert "1001" in exc.value.message_dict["number"][0]
    assert Extension.objects.filter(number="1001").count() == 1


def test_webfon_number_never_equals_physical_on_create(actor, corporate, licences):
    create(actor, corporate, "1001")
    with pytest.raises(ServiceConflict) as exc:
        create(actor, corporate, "1001", kind="webfon")
    message = exc.value.message_dict["number"][0]
    assert "1001" in message and "física" in message
    assert Extension.objects.count() == 1


def test_physical_number_never_equals_webfon_on_create(actor, corporate, licences):
    create(actor, corporate, "7001", kind="webfon")
    with pytest.raises(ServiceConflict) as exc:
        create(actor, corporate, "7001")
    assert "webfon" in exc.value.message_dict["number"][0]
    assert Extension.objects.count() == 1


def test_number_change_on_update_refused_when_taken(actor, corporate, licences):
    create(actor, corporate, "1001")
    webfon = create(actor, corporate, "7001", kind="webfon")
    with pytest.raises(ServiceConflict) as exc:
        extension_update(actor=actor, extension=webfon, number="1001")
    assert "1001" in exc.value.message_dict["number"][0]
    webfon.refresh_from_db()
    assert webfon.number == "7001"


def test_physical_update_to_webfon_number_refused(actor, corporate, licences):
    physical = create(actor, corporate, "1001")
    create(actor, corporate, "7001", kind="webfon")
    with pytest.raises(ServiceConflict):
        extension_update(actor=actor, extension=physical, number="7001")
    physical.refresh_from_db()
    assert physical.number == "1001"


def test_webfon_number_never_equals_a_login_number(actor, corporate, licences):
    PortalUserFactory(account="ana", login_number="2001")
    with pytest.raises(ServiceConflict) as exc:
        create(actor, corporate, "2001", kind="webfon")
    message = exc.value.message_dict["number"][0]
    assert "2001" in message and "ana" in message
    assert not Extension.objects.exists()
    # a physical extension may share the login number (recommended by the manual)
    assert create(actor, corporate, "2001").kind == "physical"


@pytest.mark.parametrize("number", ["", "12a", "+34", "1234567890123456", " "])
def test_bad_numbers_refused(actor, corporate, licences, number):
    with pytest.raises(ValidationError) as exc:
        create(actor, corporate, number)
    assert "number" in exc.value.message_dict
    assert not Extension.objects.exists()


def test_extensions_live_on_a_corporate_node(actor, licences):
    webrtc = WebrtcNodeFactory(name="vivait-meet")
    with pytest.raises(ValidationError) as exc:
        create(actor, webrtc, "1001")
    assert "vivait-meet" in exc.value.message_dict["node"][0]
    assert not Extension.objects.exists()


def test_physical_extension_never_in_a_pool_on_create(actor, corporate, licences):
    pool = PoolFactory()
    with pytest.raises(ValidationError) as exc:
        create(actor, corporate, "1001", pool=pool)
    assert "1001" in exc.value.message_dict["pool"][0]
    assert not Extension.objects.filter(number="1001").exists()


def test_webfon_extension_can_be_created_in_a_pool(actor, corporate, licences):
    pool = PoolFactory()
    extension = create(actor, corporate, "7100", kind="webfon", pool=pool)
    assert extension.pool == pool


def test_kind_change_to_physical_refused_while_in_pool(actor, licences):
    pool = PoolFactory()
    member = WebfonExtensionFactory(pool=pool)
    with pytest.raises(ValidationError) as exc:
        extension_update(actor=actor, extension=member, kind="physical")
    assert member.number in exc.value.message_dict["pool"][0]
    member.refresh_from_db()
    assert member.kind == "webfon"
    # clearing the pool at the same time is accepted
    extension_update(actor=actor, extension=member, kind="physical", pool=None, template=None)
    member.refresh_from_db()
    assert member.kind == "physical" and member.pool is None


def test_kind_change_to_physical_refused_for_a_fixed_extension(actor, licences):
    extension = WebfonExtensionFactory()
    PortalUserFactory(account="luis", webfon_extension=extension)
    with pytest.raises(ServiceConflict) as exc:
        extension_update(actor=actor, extension=extension, kind="physical")
    assert "luis" in exc.value.message_dict["kind"][0]


def test_owner_only_for_physical(actor, corporate, licences):
    user = PortalUserFactory(account="eva")
    physical = create(actor, corporate, "1001", owner=user)
    assert physical.owner == user
    with pytest.raises(ValidationError) as exc:
        create(actor, corporate, "7001", kind="webfon", owner=user)
    assert "7001" in exc.value.message_dict["owner"][0]


def test_webfon_needs_a_webfon_template(actor, corporate, licences):
    from extensions.services import template_create

    plain = template_create(actor=actor, name="SIP básico", value="qualify=yes")
    with pytest.raises(ValidationError) as exc:
        create(actor, corporate, "7001", kind="webfon", template=plain)
    assert "SIP básico" in exc.value.message_dict["template"][0]
    assert create(actor, corporate, "1001", template=plain).template == plain


def test_registration_secret_encrypted_at_rest(actor, corporate, licences):
    extension = create(actor, corporate, "1001", registration_secret="s3cr3t-de-registro-largo")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT registration_secret FROM extensions_extension WHERE id = %s", [extension.pk]
        )
        raw = cursor.fetchone()[0]
    assert "s3cr3t" not in raw
    assert Extension.objects.get(pk=extension.pk).registration_secret == "s3cr3t-de-registro-largo"


def test_empty_secret_on_update_keeps_the_current_one(actor, corporate, licences):
    extension = create(actor, corporate, "1001", registration_secret="clave-original-123456")
    extension_update(actor=actor, extension=extension, registration_secret="", site="Otra")
    extension.refresh_from_db()
    assert extension.registration_secret == "clave-original-123456"
    assert extension.site == "Otra"


def test_audit_masks_the_registration_secret(actor, corporate, licences):
    extension = create(actor, corporate, "1001", registration_secret="clave-original-123456")
    extension_update(actor=actor, extension=extension, registration_secret="clave-nueva-1234567")
    entries = list(AuditEntry.objects.filter(object_type="extensions.extension").order_by("id"))
    assert [e.action for e in entries] == ["extension.create", "extension.update"]
    assert entries[1].changes["registration_secret"] == {"before": "********", "after": "********"}
    for entry in entries:
        assert "clave" not in str(entry.changes)


def test_delete_refused_for_fixed_extension_and_pool_base(actor, licences):
    fixed = WebfonExtensionFactory()
    PortalUserFactory(account="rosa", webfon_extension=fixed)
    with pytest.raises(ServiceConflict) as exc:
        extension_delete(actor=actor, extension=fixed)
    assert "rosa" in str(exc.value)
    pool = PoolFactory(name="Pool A")
    with pytest.raises(ServiceConflict) as exc:
        extension_delete(actor=actor, extension=pool.base_extension)
    assert "Pool A" in str(exc.value)
    assert Extension.objects.filter(pk__in=[fixed.pk, pool.base_extension_id]).count() == 2


def test_delete_records_audit(actor, licences):
    extension = PhysicalExtensionFactory(number="1500")
    extension_delete(actor=actor, extension=extension)
    assert not Extension.objects.filter(number="1500").exists()
    entry = AuditEntry.objects.get(action="extension.delete")
    assert entry.object_repr == "1500" and entry.changes["number"] == {
        "before": "1500",
        "after": None,
    }


def test_sip_options_expand_the_number(actor, corporate, licences):
    extension = create(actor, corporate, "7001", kind="webfon")
    options = extension.sip_options().splitlines()
    assert options[0] == "username=7001"
    assert options[1] == "mailbox=7001@default"
    assert "${SIP.EXTEN}" not in extension.sip_options()
