"""Networks exempt from the second factor, exercised through users/services.py."""

import pytest
from django.core.exceptions import ValidationError

from core.exceptions import ServiceConflict
from core.models import AuditEntry
from tests.factories import ExemptNetworkFactory
from tests.users.helpers import only_message, row_counts
from users import services
from users.models import SecondFactorExemptNetwork
from users.services import exempt_network_create, exempt_network_delete

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("network", "canonical"),
    [
        ("172.25.1.0/24", "172.25.1.0/24"),
        ("172.25.1.0/255.255.255.0", "172.25.1.0/24"),
        ("  10.0.0.0/8 ", "10.0.0.0/8"),
        ("192.168.4.128/255.255.255.128", "192.168.4.128/25"),
        ("192.168.4.7/32", "192.168.4.7/32"),
    ],
)
def test_cidr_and_dotted_mask_are_accepted_and_canonicalised(actor, network, canonical):
    row = exempt_network_create(actor=actor, network=network, description=" Oficina ")

    row.refresh_from_db()
    assert row.network == canonical
    assert row.description == "Oficina"


def test_ip_and_mask_are_accepted_and_canonicalised(actor):
    row = exempt_network_create(actor=actor, ip=" 172.25.1.0 ", mask="255.255.255.0")

    row.refresh_from_db()
    assert row.network == "172.25.1.0/24"


def test_create_records_exactly_one_audit_entry(actor):
    audit_before = AuditEntry.objects.count()

    row = exempt_network_create(actor=actor, network="172.25.1.0/255.255.255.0")

    assert AuditEntry.objects.count() == audit_before + 1
    entry = AuditEntry.objects.get(action="exempt_network.create")
    assert entry.actor_label == "tests"
    assert entry.object_id == str(row.pk)
    assert entry.changes["network"] == {"before": None, "after": "172.25.1.0/24"}


@pytest.mark.parametrize(
    ("network", "suggested"),
    [
        ("172.25.1.1/24", "172.25.1.0/24"),
        ("172.25.1.0/255.255.0.0", "172.25.0.0/16"),
    ],
)
def test_host_bits_are_refused_naming_the_value(actor, network, suggested):
    counts = row_counts()

    with pytest.raises(ValidationError) as exc:
        exempt_network_create(actor=actor, network=network)

    message = only_message(exc.value, "network")
    assert network in message
    assert suggested in message
    assert row_counts() == counts


def test_host_bits_in_ip_and_mask_are_refused_naming_the_value(actor):
    counts = row_counts()

    with pytest.raises(ValidationError) as exc:
        exempt_network_create(actor=actor, ip="172.25.1.9", mask="255.255.255.0")

    message = only_message(exc.value, "ip")
    assert "172.25.1.9/255.255.255.0" in message
    assert "172.25.1.0/24" in message
    assert row_counts() == counts


@pytest.mark.parametrize(
    "network",
    [
        "hola",
        "172.25.1.0/33",
        "300.25.1.0/24",
        "172.25.1/24",
        "172.25.1.0/255.0.255.0",
        "fe80::/64",
        "172.25.1.0/24; DROP",
    ],
)
def test_garbage_is_refused_naming_the_value(actor, network):
    counts = row_counts()

    with pytest.raises(ValidationError) as exc:
        exempt_network_create(actor=actor, network=network)

    assert network in only_message(exc.value, "network")
    assert row_counts() == counts


def test_garbage_ip_and_mask_are_refused_naming_the_value(actor):
    counts = row_counts()

    with pytest.raises(ValidationError) as exc:
        exempt_network_create(actor=actor, ip="172.25.1.0", mask="255.0.255.0")

    assert "172.25.1.0/255.0.255.0" in only_message(exc.value, "ip")
    assert row_counts() == counts


@pytest.mark.parametrize(
    "kwargs", [{}, {"network": ""}, {"ip": "172.25.1.0"}, {"mask": "255.255.255.0"}]
)
def test_a_network_is_required(actor, kwargs):
    counts = row_counts()

    with pytest.raises(ValidationError) as exc:
        exempt_network_create(actor=actor, **kwargs)

    assert "network" in exc.value.message_dict
    assert row_counts() == counts


@pytest.mark.parametrize(
    "kwargs",
    [
        {"network": "172.25.1.0/24"},
        {"network": "172.25.1.0/255.255.255.0"},
        {"ip": "172.25.1.0", "mask": "255.255.255.0"},
    ],
)
def test_a_duplicate_network_is_a_conflict(actor, kwargs):
    ExemptNetworkFactory(network="172.25.1.0/24")
    counts = row_counts()

    with pytest.raises(ServiceConflict) as exc:
        exempt_network_create(actor=actor, **kwargs)

    assert "172.25.1.0/24" in only_message(exc.value, "network")
    assert row_counts() == counts


def test_ip_and_mask_properties():
    row = ExemptNetworkFactory(network="172.25.1.0/24")

    assert row.ip == "172.25.1.0"
    assert row.mask == "255.255.255.0"
    wide = ExemptNetworkFactory(network="10.0.0.0/8")
    assert (wide.ip, wide.mask) == ("10.0.0.0", "255.0.0.0")


def test_delete_records_exactly_one_audit_entry(actor):
    row = ExemptNetworkFactory(network="172.25.9.0/24")
    audit_before = AuditEntry.objects.count()

    exempt_network_delete(actor=actor, network=row)

    assert not SecondFactorExemptNetwork.objects.filter(network="172.25.9.0/24").exists()
    assert AuditEntry.objects.count() == audit_before + 1
    entry = AuditEntry.objects.get(action="exempt_network.delete")
    assert entry.changes["network"] == {"before": "172.25.9.0/24", "after": None}


def test_create_is_undone_when_its_audit_entry_fails(actor, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("audit unavailable")

    monkeypatch.setattr(services, "audit_record", broken)
    counts = row_counts()

    with pytest.raises(RuntimeError):
        exempt_network_create(actor=actor, network="172.25.1.0/24")

    assert row_counts() == counts
