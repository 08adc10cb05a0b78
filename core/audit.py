"""Recording audit entries. Call from inside the service's transaction."""

from __future__ import annotations

import datetime
import decimal
import functools
import uuid
from typing import Any

from django.db import models

from core.actors import Actor
from core.bulk import bulk_insert
from core.dry_run import in_dry_run
from core.models import AuditEntry

MASK = "********"


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return [_json_safe(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    return str(value)


def audit_snapshot(instance: models.Model) -> dict[str, Any]:
    """Concrete field values of a row, foreign keys as ids, secrets masked.

    A model lists its secret fields in ``AUDIT_SECRET_FIELDS``; an empty secret shows as "",
    a set one as the mask, so an audit entry tells that a secret changed, never its value.
    """
    data: dict[str, Any] = {}
    for name, attname, secret in _snapshot_fields(type(instance)):
        value = getattr(instance, attname)
        if secret:
            # Hash the raw value only to detect a change; the hash is never stored.
            data[name] = (MASK, hash(value)) if value else ("", None)
        else:
            data[name] = _json_safe(value)
    return data


@functools.cache
def _snapshot_fields(model: type[models.Model]) -> tuple[tuple[str, str, bool], ...]:
    """(name, attname, is secret) of the fields a snapshot of ``model`` holds, in order."""
    secret = set(getattr(model, "AUDIT_SECRET_FIELDS", ()))
    skip = set(getattr(model, "AUDIT_SKIP_FIELDS", ("created_at", "updated_at")))
    return tuple(
        (field.name, field.attname, field.name in secret)
        for field in model._meta.concrete_fields
        if field.name not in skip
    )


def _public(value: Any) -> Any:
    return value[0] if type(value) is tuple else value


def audit_diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any]:
    if not before:
        # A new row (thousands of them in a batch): every value set is a change.
        return {
            key: {"before": None, "after": _public(new)}
            for key, new in sorted((after or {}).items())
            if new is not None
        }
    after = after or {}
    changes: dict[str, Any] = {}
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if old != new:
            changes[key] = {"before": _public(old), "after": _public(new)}
    return changes


def _entry_fields(
    *,
    actor: Actor,
    action: str,
    instance: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The field values of one audit entry (what both :func:`audit_record` and
    :func:`audit_record_created` store)."""
    if instance is not None:
        object_type = object_type or instance._meta.label_lower
        object_id = object_id or str(instance.pk)
        object_repr = object_repr or str(instance)[:200]
    changes = audit_diff(before, after)
    if extra:
        changes.update({key: _json_safe(value) for key, value in extra.items()})
    return {
        "actor_kind": actor.kind,
        "actor_user_id": actor.user_id,
        "actor_label": actor.label[:150],
        "client_ip": actor.client_ip or None,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "object_repr": object_repr[:200],
        "changes": changes,
    }


def audit_record(
    *,
    actor: Actor,
    action: str,
    instance: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Write one audit entry, in the caller's transaction.

    Through core.bulk (one row), as the batches are: a thousand edits in one transaction
    write a thousand entries, and Model.save()'s generic path costs half as much again."""
    entry = _entry_fields(
        actor=actor,
        action=action,
        instance=instance,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr,
        before=before,
        after=after,
        extra=extra,
    )
    if not in_dry_run():  # the entry is built, not written
        bulk_insert(AuditEntry, shared={}, rows=[entry], answer=False)


# What every entry of one audit_record_created call shares (one actor, one action).
_SHARED = ("actor_kind", "actor_user_id", "actor_label", "client_ip", "action")


def audit_record_created(*, actor: Actor, action: str, instances: list[models.Model]) -> None:
    """One entry per created row (its values as ``after``), as audit_record would write them,
    in a few multi-row INSERTs (core.bulk: the actor and the action are prepared once)."""
    _record_many(actor=actor, action=action, items=[(instance, None) for instance in instances])


def audit_record_updated(
    *, actor: Actor, action: str, changes: list[tuple[models.Model, dict[str, Any]]]
) -> None:
    """One entry per updated row, given as (the row now, its audit_snapshot before), as
    audit_record(before=…, after=audit_snapshot(row)) would write them, in a few INSERTs."""
    _record_many(actor=actor, action=action, items=changes)


def _record_many(
    *, actor: Actor, action: str, items: list[tuple[models.Model, dict[str, Any] | None]]
) -> None:
    if not items:
        return
    rows = [
        _entry_fields(
            actor=actor,
            action=action,
            instance=instance,
            before=before,
            after=audit_snapshot(instance),
        )
        for instance, before in items
    ]
    if in_dry_run():
        return
    shared = {name: rows[0][name] for name in _SHARED}
    bulk_insert(
        AuditEntry,
        shared=shared,
        rows=[{k: v for k, v in row.items() if k not in shared} for row in rows],
        answer=False,
    )
