"""Reads on webfon sessions and the access policy."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from extensions.models import Extension, ExtensionPool
from webfon.models import WebfonPolicy, WebfonSession


def webfon_policy_get() -> WebfonPolicy:
    """The single policy row (created by a migration). A selector never writes: when the row is
    missing this is the default policy, unsaved; the service that saves it creates it."""
    return WebfonPolicy.objects.filter(id=WebfonPolicy.SINGLETON_ID).first() or WebfonPolicy(
        id=WebfonPolicy.SINGLETON_ID
    )


def webfon_sessions_live() -> QuerySet[WebfonSession]:
    """Sessions in force: active and not past their expiry."""
    return WebfonSession.objects.filter(
        state=WebfonSession.State.ACTIVE, expires_at__gt=timezone.now()
    )


@dataclass(frozen=True)
class PoolOccupation:
    name: str
    size: int
    in_use: int


def pool_occupation(pool_id: int) -> PoolOccupation:
    members = Extension.objects.filter(pool_id=pool_id)
    in_use = webfon_sessions_live().filter(pool_extension__pool_id=pool_id).count()
    name = ExtensionPool.objects.filter(pk=pool_id).values_list("name", flat=True).first()
    return PoolOccupation(name=name or "", size=members.count(), in_use=in_use)
