"""Rules on nodes, exercised through nodes/services.py."""

import pytest
from django.core.exceptions import ValidationError

from core.exceptions import ServiceConflict
from core.models import AuditEntry
from nodes import services
from nodes.models import Node
from nodes.services import node_create, node_delete, node_update
from tests.factories import NodeFactory, PhysicalExtensionFactory, WebfonExtensionFactory

pytestmark = pytest.mark.django_db


def _counts() -> dict[str, int]:
    return {"nodes": Node.objects.count(), "audit": AuditEntry.objects.count()}


def _node_row(node: Node) -> dict:
    return Node.objects.filter(pk=node.pk).values().get()


def test_create_saves_the_node_and_records_one_audit_entry(actor, local_nodes_dir, webrtc_fields):
    audit_before = AuditEntry.objects.count()

    node = node_create(
        actor=actor,
        name="  VC-webrtc  ",
        kind="webrtc",
        address=" 192.0.2.5 ",
        transport="local",
        **{**webrtc_fields, "domain": " meet.vivait.example "},
    )

    node.refresh_from_db()
    assert (node.name, node.kind, node.address, node.domain, node.transport) == (
        "VC-webrtc",
        "webrtc",
        "192.0.2.5",
        "meet.vivait.example",
        "local",
    )
    assert AuditEntry.objects.count() == audit_before + 1
    entry = AuditEntry.objects.get(action="node.create")
    assert entry.actor_kind == "system"
    assert entry.actor_label == "tests"
    assert entry.object_type == "nodes.node"
    assert entry.object_id == str(node.pk)
    assert entry.changes["name"] == {"before": None, "after": "VC-webrtc"}
    assert entry.changes["kind"] == {"before": None, "after": "webrtc"}


@pytest.mark.parametrize("name", ["VC-corp-zonaejemplo", "  VC-corp-zonaejemplo "])
def test_create_refuses_a_taken_name(actor, corporate, name):
    counts = _counts()

    with pytest.raises(ServiceConflict) as exc:
        node_create(actor=actor, name=name, kind="corporate")

    assert "VC-corp-zonaejemplo" in exc.value.message_dict["name"][0]
    assert _counts() == counts


def test_update_refuses_a_taken_name(actor, corporate):
    node = NodeFactory(name="VC-corp-otro")
    before = _node_row(node)
    counts = _counts()

    with pytest.raises(ServiceConflict) as exc:
        node_update(actor=actor, node=node, name="VC-corp-zonaejemplo")

    assert "VC-corp-zonaejemplo" in exc.value.message_dict["name"][0]
    assert _node_row(node) == before
    assert _counts() == counts


def test_update_may_keep_its_own_name(actor, corporate):
    node_update(actor=actor, node=corporate, name="VC-corp-zonaejemplo", description="Zona norte")

    corporate.refresh_from_db()
    assert corporate.description == "Zona norte"


def test_update_records_before_and_after_of_the_changed_fields(actor, corporate):
    audit_before = AuditEntry.objects.count()

    node_update(actor=actor, node=corporate, name="VC-corp-norte", address="10.9.9.9")

    corporate.refresh_from_db()
    assert corporate.name == "VC-corp-norte"
    assert AuditEntry.objects.count() == audit_before + 1
    entry = AuditEntry.objects.get(action="node.update")
    assert entry.actor_label == "tests"
    assert entry.changes["name"] == {"before": "VC-corp-zonaejemplo", "after": "VC-corp-norte"}
    assert entry.changes["address"]["after"] == "10.9.9.9"
    assert set(entry.changes) == {"name", "address"}


@pytest.mark.parametrize("factory", [PhysicalExtensionFactory, WebfonExtensionFactory])
def test_a_corporate_node_with_extensions_cannot_become_webrtc(actor, corporate, factory):
    factory(node=corporate)
    factory(node=corporate)
    before = _node_row(corporate)
    counts = _counts()

    with pytest.raises(ServiceConflict) as exc:
        node_update(actor=actor, node=corporate, kind="webrtc")

    message = exc.value.message_dict["kind"][0]
    assert "VC-corp-zonaejemplo" in message
    assert "2 extensiones" in message
    assert _node_row(corporate) == before
    assert _counts() == counts


def test_a_corporate_node_without_extensions_may_become_webrtc(actor, corporate):
    other = NodeFactory(name="VC-corp-otro")
    node_update(
        actor=actor,
        node=corporate,
        kind="webrtc",
        domain="meet.vivait.example",
        local_ip="192.0.2.31",
        corporate_node=other,
    )

    corporate.refresh_from_db()
    assert corporate.kind == "webrtc"
    entry = AuditEntry.objects.get(action="node.update")
    assert entry.changes["kind"] == {"before": "corporate", "after": "webrtc"}


def test_update_refuses_an_unknown_kind(actor, corporate):
    before = _node_row(corporate)
    counts = _counts()

    with pytest.raises(ValidationError) as exc:
        node_update(actor=actor, node=corporate, kind="satelite")

    assert "satelite" in exc.value.message_dict["kind"][0]
    assert _node_row(corporate) == before
    assert _counts() == counts


def test_a_node_with_extensions_cannot_be_deleted(actor, corporate):
    PhysicalExtensionFactory(node=corporate)
    counts = _counts()

    with pytest.raises(ServiceConflict) as exc:
        node_delete(actor=actor, node=corporate)

    (message,) = exc.value.messages
    assert "VC-corp-zonaejemplo" in message
    assert "1 extensiones" in message
    assert Node.objects.filter(pk=corporate.pk).exists()
    assert _counts() == counts


def test_delete_removes_the_node_and_records_one_audit_entry(actor, corporate):
    audit_before = AuditEntry.objects.count()
    pk = corporate.pk

    node_delete(actor=actor, node=corporate)

    assert not Node.objects.filter(pk=pk).exists()
    assert AuditEntry.objects.count() == audit_before + 1
    entry = AuditEntry.objects.get(action="node.delete")
    assert entry.object_id == str(pk)
    assert entry.changes["name"] == {"before": "VC-corp-zonaejemplo", "after": None}


def _broken_audit(**kwargs):
    raise RuntimeError("audit unavailable")


def test_create_is_undone_when_its_audit_entry_fails(actor, monkeypatch):
    monkeypatch.setattr(services, "audit_record", _broken_audit)
    counts = _counts()

    with pytest.raises(RuntimeError):
        node_create(actor=actor, name="VC-corp-nuevo", kind="corporate")

    assert _counts() == counts


def test_update_is_undone_when_its_audit_entry_fails(actor, corporate, monkeypatch):
    before = _node_row(corporate)
    monkeypatch.setattr(services, "audit_record", _broken_audit)

    with pytest.raises(RuntimeError):
        node_update(actor=actor, node=corporate, name="VC-corp-renombrado")

    assert _node_row(corporate) == before


def test_delete_is_undone_when_its_audit_entry_fails(actor, corporate, monkeypatch):
    monkeypatch.setattr(services, "audit_record", _broken_audit)
    counts = _counts()

    with pytest.raises(RuntimeError):
        node_delete(actor=actor, node=corporate)

    assert _counts() == counts
