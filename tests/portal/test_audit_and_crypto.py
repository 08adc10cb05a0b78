"""Audit trail and encryption of secrets at rest."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.test import override_settings

from core import crypto
from core.actors import Actor
from core.audit import (
    MASK,
    audit_diff,
    audit_record,
    audit_record_created,
    audit_snapshot,
)
from core.dry_run import dry_run
from core.models import AuditEntry
from nodes.models import Node
from nodes.services import node_create
from tests.factories import PortalUserFactory, StaffUserFactory


@pytest.mark.django_db
def test_audit_entry_records_who_and_what(actor):
    node = node_create(actor=actor, name="corp", kind="corporate", address="10.0.0.1")
    entry = AuditEntry.objects.get()
    assert (entry.actor_kind, entry.actor_label, entry.action) == ("system", "tests", "node.create")
    assert (entry.object_type, entry.object_id, entry.object_repr) == (
        "nodes.node",
        str(node.pk),
        "corp",
    )
    assert entry.changes["address"] == {"before": None, "after": "10.0.0.1"}


@pytest.mark.django_db
def test_audit_entry_records_a_staff_user():
    staff = StaffUserFactory(username="carmen")
    node_create(actor=Actor.for_user(staff), name="corp", kind="corporate")
    entry = AuditEntry.objects.get()
    assert (entry.actor_kind, entry.actor_user, entry.actor_label) == ("user", staff, "carmen")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_audit_is_in_the_same_transaction_as_the_write(actor):
    with pytest.raises(RuntimeError), transaction.atomic():
        node_create(actor=actor, name="corp", kind="corporate")
        raise RuntimeError("rollback")
    assert not Node.objects.exists()
    assert not AuditEntry.objects.exists()


@pytest.mark.django_db
def test_refused_write_leaves_no_audit(actor):
    node_create(actor=actor, name="corp", kind="corporate")
    with pytest.raises(Exception):  # noqa: B017 - the refusal type is tested in nodes tests
        node_create(actor=actor, name="corp", kind="corporate")
    assert AuditEntry.objects.count() == 1


def test_audit_diff_masks_secrets():
    before = {"secret": (MASK, 1), "name": "a"}
    after = {"secret": (MASK, 2), "name": "a"}
    assert audit_diff(before, after) == {"secret": {"before": MASK, "after": MASK}}
    assert audit_diff({"secret": ("", None)}, {"secret": (MASK, 3)}) == {
        "secret": {"before": "", "after": MASK}
    }


def test_encryption_round_trip_is_not_plaintext():
    token = crypto.encrypt("clave-secreta")
    assert "clave-secreta" not in token
    assert crypto.decrypt(token) == "clave-secreta"
    assert crypto.encrypt("clave-secreta") != token  # not deterministic


def test_field_key_rotation_keeps_old_secrets_readable():
    old = crypto.encrypt("antigua")
    new_key = "Xg7g6s0Wk3n0b6bbt1a7wYk0cq1v2nBqvQ5r0Q8b2hY="
    with override_settings(FIELD_ENCRYPTION_KEY=new_key):
        assert crypto.decrypt(old) == "antigua"
        rotated = crypto.encrypt("nueva")
    with override_settings(SECRET_KEY="otra-clave-" * 6), pytest.raises(ImproperlyConfigured):
        crypto.decrypt(rotated)


def test_bad_field_key_is_reported():
    with override_settings(FIELD_ENCRYPTION_KEY="corta"), pytest.raises(ImproperlyConfigured):
        crypto.encrypt("x")


@pytest.mark.django_db
def test_entries_of_a_batch_are_those_audit_record_writes_one_by_one(actor):
    users = [
        PortalUserFactory(account="ana", name="Ana «ñ»"),
        PortalUserFactory(account="luis", email="", mobile="600000000", password="hash"),
        PortalUserFactory(account="eva", totp_secret="secreto", max_sessions=3),
    ]
    for user in users:
        audit_record(actor=actor, action="user.create", instance=user, after=audit_snapshot(user))
    audit_record_created(actor=actor, action="user.create", instances=users)
    fields = ["actor_kind", "actor_user", "actor_label", "client_ip", "action", "object_type"]
    fields += ["object_id", "object_repr", "changes"]
    entries = list(AuditEntry.objects.order_by("id").values_list(*fields))
    assert entries[:3] == entries[3:] and len(entries) == 6
    # A new row's diff (the batch's fast path) is the general one from all-empty values.
    for user in users:
        after = audit_snapshot(user)
        assert audit_diff(None, after) == audit_diff(dict.fromkeys(after), after)


@pytest.mark.django_db
def test_dry_run_entries_are_built_but_not_written(actor):
    with dry_run():
        node = node_create(actor=actor, name="corp", kind="corporate")
        audit_record_created(actor=actor, action="node.create", instances=[node])
    assert Node.objects.filter(pk=node.pk).exists()
    assert not AuditEntry.objects.exists()
    node_create(actor=actor, name="corp2", kind="corporate")
    assert AuditEntry.objects.count() == 1
