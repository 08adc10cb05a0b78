"""Writes of the staff plane: login events, lockouts, second-factor devices.

Every event is recorded in the audit trail with its actor and client address; no password,
code or secret ever goes into a row or a log line.
"""

from __future__ import annotations

import datetime
import logging

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import StaffLoginThrottle
from portal.actors import Actor
from portal.audit import audit_record

logger = logging.getLogger("accounts.auth")


def _attempt_actor(*, account: str, client_ip: str, user=None) -> Actor:
    """The author of a login attempt: the account it names (which may not exist)."""
    return Actor(
        kind="user",
        label=account.strip()[:150],
        user_id=user.pk if user is not None else None,
        client_ip=client_ip or None,
    )


def _user_named(account: str):
    return get_user_model().objects.filter(username=account.strip()).first()


@transaction.atomic
def staff_login_failed(
    *, account: str, client_ip: str, reason: str, locked_until: datetime.datetime | None = None
) -> None:
    """Record a refused login (and, when this failure locked the pair, the lockout)."""
    user = _user_named(account)
    actor = _attempt_actor(account=account, client_ip=client_ip, user=user)
    target = {"instance": user} if user is not None else {"object_type": "auth.user"}
    audit_record(
        actor=actor,
        action="staff.login_failed",
        object_repr=account.strip()[:200],
        extra={"reason": reason},
        **target,
    )
    logger.warning("staff.login_failed account=%r ip=%s reason=%s", account, client_ip, reason)
    if locked_until is not None:
        audit_record(
            actor=actor,
            action="staff.lockout",
            object_repr=account.strip()[:200],
            extra={"locked_until": locked_until},
            **target,
        )
        logger.warning("staff.lockout account=%r ip=%s until=%s", account, client_ip, locked_until)


def staff_login_locked(*, account: str, client_ip: str) -> None:
    """An attempt refused while its pair is locked: a log line only (the lockout itself was
    audited once; a locked pair costs the attacker nothing, so it must not cost a row)."""
    logger.warning("staff.login_locked account=%r ip=%s", account, client_ip)


@transaction.atomic
def staff_login_succeeded(*, user, client_ip: str, method: str) -> None:
    """Record a completed login: the password and, when asked, the second factor."""
    audit_record(
        actor=Actor.for_user(user, client_ip=client_ip or None),
        action="staff.login",
        instance=user,
        extra={"method": method},
    )
    logger.info("staff.login user=%s ip=%s method=%s", user.pk, client_ip, method)


@transaction.atomic
def staff_logout(*, actor: Actor, user) -> None:
    audit_record(actor=actor, action="staff.logout", instance=user)
    logger.info("staff.logout user=%s ip=%s", user.pk, actor.client_ip)


@transaction.atomic
def staff_lockout_clear(*, actor: Actor, throttle: StaffLoginThrottle) -> None:
    """Unlock one (account, address) pair and forget its failures."""
    locked = StaffLoginThrottle.objects.select_for_update().filter(pk=throttle.pk).first()
    if locked is None:
        return
    audit_record(
        actor=actor,
        action="staff.lockout_clear",
        object_type="accounts.staffloginthrottle",
        object_id=str(locked.pk),
        object_repr=str(locked),
        extra={"account": locked.account, "address": locked.client_ip},
    )
    locked.delete()
    logger.info(
        "staff.lockout_clear account=%r ip=%s by=%s", locked.account, locked.client_ip, actor.label
    )


def lockout_message(minutes: int) -> str:
    return _(
        "Demasiados intentos fallidos con esta cuenta desde su dirección. "
        "Vuelva a intentarlo dentro de %(minutes)d minutos."
    ) % {"minutes": minutes}
