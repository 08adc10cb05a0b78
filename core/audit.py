"""Recording audit entries. Call from inside the service's transaction."""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Any

from django.db import models

from core.actors import Actor
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
    secret = set(getattr(instance, "AUDIT_SECRET_FIELDS", ()))
    skip = set(getattr(instance, "AUDIT_SKIP_FIELDS", ("created_at", "updated_at")))
    data: dict[str, Any] = {}
    for field in instance._meta.concrete_fields:
        if field.name in skip:
            continue
        value = getattr(instance, field.attname)
        if field.name in secret:
            # Hash the raw value only to detect a change; the hash is never stored.
            data[field.name] = (MASK, hash(value)) if value else ("", None)
        else:
            data[field.name] = _json_safe(value)
    return data


def _public(value: Any) -> Any:
    return value[0] if isinstance(value, tuple) else value


def audit_diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any]:
    before = before or {}
    after = after or {}
    changes: dict[str, Any] = {}
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old != new:
            changes[key] = {"before": _public(old), "after": _public(new)}
    return changes


def _entry(
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
) -> AuditEntry:
    if instance is not None:
        object_type = object_type or instance._meta.label_lower
        object_id = object_id or str(instance.pk)
        object_repr = object_repr or str(instance)[:200]
    changes = audit_diff(before, after)
    if extra:
        changes.update({key: _json_safe(value) for key, value in extra.items()})
    return AuditEntry(
        actor_kind=actor.kind,
        actor_user_id=actor.user_id,
        actor_label=actor.label[:150],
        client_ip=actor.client_ip or None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr[:200],
        changes=changes,
    )


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
) -> AuditEntry:
    entry = _entry(
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
    entry.save(force_insert=True)
    return entry


def audit_record_created(*, actor: Actor, action: str, instances: list[models.Model]) -> None:
    """One entry per created row (its values as ``after``), as audit_record would write them,
    in a few multi-row INSERTs."""
    AuditEntry.objects.bulk_create(
        [
            _entry(actor=actor, action=action, instance=instance, after=audit_snapshot(instance))
            for instance in instances
        ],
        batch_size=1000,
    )
