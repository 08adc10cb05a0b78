"""Writes on the licence stock and the check every extension creation goes through."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.actors import Actor
from core.audit import audit_record
from core.exceptions import ServiceConflict
from licensing.models import LicenseStock
from licensing.selectors import license_current_estimate


def _stock_locked() -> LicenseStock:
    """The stock row under a lock (created if missing), inside the caller's transaction."""
    row, _created = LicenseStock.objects.select_for_update().get_or_create(
        id=LicenseStock.SINGLETON_ID
    )
    return row


def _licence_memo(connection) -> dict:
    return connection.__dict__.setdefault("_licence_memo", {})


def license_require(*, needed: int) -> None:
    """Refuse, before anything is written, a creation of ``needed`` extensions beyond the stock.

    Locks the stock row so two concurrent creations cannot both take the last licences.
    Must run inside the caller's transaction.

    The stock row stays locked until the transaction ends, so what is free cannot grow
    behind its back: after the first check, the licences still free are remembered and later
    checks in the same transaction (an import creating 10,000 extensions one by one) take
    from them without counting every extension again. The memo is tied to an on-commit
    callback, as the push requests' memo is: Django drops it with the savepoint it was set in
    (a rolled-back row may leave the memo short, never long) and when the transaction ends.
    """
    if needed <= 0:
        return
    connection = transaction.get_connection()
    memo = _licence_memo(connection)
    marker = memo.get("marker")
    if (
        marker is not None
        and connection.in_atomic_block
        and any(func is marker for _sids, func, _robust in connection.run_on_commit)
        and memo["free"] >= needed
    ):
        memo["free"] -= needed
        return
    stock = _stock_locked().stock
    used = license_current_estimate().total
    free = stock - used
    if needed > free:
        raise ServiceConflict(
            _(
                "No hay licencias suficientes: hacen falta %(needed)d y quedan %(free)d libres "
                "(%(used)d en uso de %(stock)d contratadas)."
            )
            % {"needed": needed, "free": max(free, 0), "used": used, "stock": stock}
        )
    if connection.in_atomic_block:

        def forget() -> None:
            memo.clear()

        transaction.on_commit(forget)
        memo.update(marker=forget, free=free - needed)


@transaction.atomic
def license_stock_set(*, actor: Actor, stock: int) -> LicenseStock:
    """Change the number of licences bought; never below what is in use."""
    if isinstance(stock, bool) or not isinstance(stock, int) or stock < 0:
        raise ValidationError(
            {"stock": _("El stock «%(stock)s» debe ser un entero ≥ 0.") % {"stock": stock}}
        )
    row = _stock_locked()
    used = license_current_estimate().total
    if stock < used:
        raise ServiceConflict(
            {
                "stock": _(
                    "No se puede bajar el stock a %(stock)d: hay %(used)d licencias en uso. "
                    "Borre extensiones antes."
                )
                % {"stock": stock, "used": used}
            }
        )
    before = row.stock
    if before != stock:
        row.stock = stock
        row.full_clean()
        row.save()
        audit_record(
            actor=actor,
            action="license.stock_set",
            instance=row,
            before={"stock": before},
            after={"stock": stock},
        )
    return row
