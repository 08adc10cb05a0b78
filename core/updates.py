"""Helpers shared by the services' update functions."""

from typing import Any

from django.db import models


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
        if getattr(instance, name) != value:
            setattr(instance, name, value)
            changed.add(name)
    return changed
