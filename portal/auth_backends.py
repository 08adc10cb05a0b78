"""Staff authentication: Django's ModelBackend with each account's permissions cached.

Every API request loads its user afresh (token → user), so ModelBackend's per-instance cache
never helps and each request paid two permission queries. The permission set is kept in the
cache instead, tagged with a *generation* that any change of roles (group membership, a
group's or a user's permissions, a user created or deleted) replaces, so a stale set is
never used: at once with a shared cache (CACHE_URL, Redis in production); with the default
in-process cache, other processes see the change when the entry expires
(PERMISSIONS_CACHE_SECONDS). ``is_active`` and ``is_superuser`` are read from the fresh user
row on every request, never from the cache.
"""

import logging
from uuid import uuid4

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

logger = logging.getLogger("portal.auth")
PERMISSIONS_CACHE_SECONDS = 60
GENERATION_KEY = "portal:perms:generation"


def _entry_key(user_pk) -> str:
    return f"portal:perms:user:{user_pk}"


class CachedPermissionBackend(ModelBackend):
    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            try:
                user_obj._perm_cache = self._cached_permissions(user_obj)
            except Exception:  # the cache server is down: the database still answers
                logger.warning("perms.cache_unavailable user=%s", user_obj.pk)
                user_obj._perm_cache = super().get_all_permissions(user_obj)
        return user_obj._perm_cache

    def _cached_permissions(self, user_obj) -> set[str]:
        key = _entry_key(user_obj.pk)
        found = cache.get_many([GENERATION_KEY, key])
        generation, entry = found.get(GENERATION_KEY), found.get(key)
        if generation is not None and entry is not None:
            entry_generation, is_superuser, perms = entry
            if entry_generation == generation and is_superuser == user_obj.is_superuser:
                return perms
        if generation is None:
            # Set before reading the database: a change made meanwhile replaces it, so what
            # is read now cannot be stored under the newer generation.
            cache.add(GENERATION_KEY, uuid4().hex, timeout=None)
            generation = cache.get(GENERATION_KEY)
        perms = super().get_all_permissions(user_obj)
        cache.set(key, (generation, user_obj.is_superuser, perms), PERMISSIONS_CACHE_SECONDS)
        return perms


def invalidate_permissions() -> None:
    """Make every cached permission set stale (now, and again when the transaction commits,
    so a set read from the database before the commit is not kept)."""

    def bump() -> None:
        try:
            cache.set(GENERATION_KEY, uuid4().hex, timeout=None)
        except Exception:
            # Entries expire within PERMISSIONS_CACHE_SECONDS anyway; the write must not fail.
            logger.warning("perms.cache_invalidation_failed")

    bump()
    transaction.on_commit(bump)


def _on_m2m_changed(sender, action, **kwargs) -> None:
    if action in ("post_add", "post_remove", "post_clear"):
        invalidate_permissions()


def _on_row_changed(sender, created=True, raw=False, **kwargs) -> None:
    # A user saved (logins update last_login) changes nothing unless it is new: a new row may
    # reuse the primary key of a deleted one.
    if created:
        invalidate_permissions()


def connect_signals() -> None:
    User = get_user_model()
    for through in (User.groups.through, User.user_permissions.through, Group.permissions.through):
        m2m_changed.connect(_on_m2m_changed, sender=through, dispatch_uid=f"perms.{through}")
    for model in (User, Group, Permission):
        post_save.connect(_on_row_changed, sender=model, dispatch_uid=f"perms.save.{model}")
        post_delete.connect(_on_row_changed, sender=model, dispatch_uid=f"perms.delete.{model}")
