"""Helpers shared by the services' update functions."""

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models, transaction
from django.utils import timezone

from core.actors import Actor
from core.audit import audit_record_updated
from core.bulk import bulk_update_fields

R = TypeVar("R")


def apply_fields(
    instance: models.Model, *, data: dict[str, Any], allowed: frozenset[str]
) -> set[str]:
    """Set the given attributes on ``instance`` and answer the names that changed.

    An unknown name is a programming error (the callers are forms, serializers and
    commands of this project), so it raises TypeError rather than a user-facing message.
    """
    unknown = set(data) - allowed
    if unknown:
        raise TypeError(f"{type(instance).__name__} has no updatable field(s): {sorted(unknown)}")
    changed: set[str] = set()
    for name, value in data.items():
        field = _foreign_key(instance, name)
        if field is not None and (value is None or isinstance(value, models.Model)):
            # Compared by id: reading the attribute would load the related row to compare it.
            current = getattr(instance, field.attname)
            same = (
                current is None if value is None else value.pk is not None and value.pk == current
            )
        else:
            same = getattr(instance, name) == value
        if not same:
            setattr(instance, name, value)
            changed.add(name)
    return changed


def _foreign_key(instance: models.Model, name: str) -> models.Field | None:
    try:
        field = instance._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    return field if field.concrete and (field.many_to_one or field.one_to_one) else None


def validate_row(instance: models.Model) -> None:
    """``full_clean()`` without a query: the fields, their validators and ``clean()``.

    Left out, because the services check them otherwise and the database enforces them all:
    unique and check constraints (Django 5 runs a SELECT per constraint; each service checks
    uniqueness across rows itself, and every CheckConstraint is also a rule of ``clean()`` or
    of a field — tests/users/test_constraints_covered.py pins that), and the existence of a
    related row (the services take related rows as instances they loaded, or keep the one
    the row had; the foreign key refuses a row deleted meanwhile). A related field left empty
    is still checked (a required one answers "este campo no puede ser nulo").
    """
    exclude = [
        field.name
        for field in instance._meta.concrete_fields
        if field.is_relation and getattr(instance, field.attname) is not None
    ]
    instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)


def call_isolated(call: Callable[[], R]) -> R | ValidationError:
    """One row's service call in a savepoint of its own, for a batch function that answers
    each row's outcome: what the call answers, or the ValidationError that refused it (and
    left nothing behind)."""
    try:
        with transaction.atomic():
            return call()
    except ValidationError as exc:
        return exc


def save_updated(
    *, actor: Actor, action: str, rows: list[tuple[models.Model, dict[str, Any], set[str]]]
) -> None:
    """What ``save()`` and the ``audit_record`` of an update service write for each of
    ``rows`` (the row, validated; its audit_snapshot before; the fields that changed), in a few
    statements: the changed fields and the time (``auto_now``), also when nothing changed, and
    one audit entry each with its before and after."""
    if not rows:
        return
    now = timezone.now()
    stamped = [
        field.attname
        for field in rows[0][0]._meta.concrete_fields
        if getattr(field, "auto_now", False)
    ]
    for row, _before, _changed in rows:
        for attname in stamped:
            setattr(row, attname, now)
    fields = sorted(set().union(*(changed for _row, _before, changed in rows)))
    bulk_update_fields([row for row, _b, _c in rows], [*fields, *stamped])
    audit_record_updated(
        actor=actor, action=action, changes=[(row, before) for row, before, _c in rows]
    )
