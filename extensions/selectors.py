"""Reads on extensions and pools, and the rules that only read (each rule written once)."""

import operator
from collections.abc import Sequence
from functools import reduce

from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import Length
from django.db.models.lookups import Exact

from extensions import hooks
from extensions.models import Extension


def filter_numbers(queryset: QuerySet, field: str, numbers: Sequence[str]) -> QuerySet:
    """Rows whose ``field`` is one of ``numbers`` (digit strings).

    A run of consecutive numbers of one length (a range) becomes ``length = n AND field BETWEEN
    first AND last`` — among digit strings of one length, text order is numeric order — so the
    unique index answers it with a range scan instead of parsing thousands of IN parameters.
    """
    by_length: dict[int, set[str]] = {}
    for number in numbers:
        by_length.setdefault(len(number), set()).add(number)
    conditions = []
    for length, group in sorted(by_length.items()):
        low, high = min(group), max(group)
        if (
            len(group) > 1
            and all(n.isascii() and n.isdigit() for n in group)
            and int(high) - int(low) + 1 == len(group)
        ):
            conditions.append(
                Q(Exact(Length(field), length), **{f"{field}__gte": low, f"{field}__lte": high})
            )
        else:
            conditions.append(Q(**{f"{field}__in": sorted(group)}))
    return queryset.filter(reduce(operator.or_, conditions)) if conditions else queryset.none()


def numbers_taken(
    numbers: Sequence[str], *, exclude_pk: int | None = None
) -> list[tuple[str, str]]:
    """Which of ``numbers`` are extensions already, as (number, kind) in number order."""
    return list(
        filter_numbers(Extension.objects.all(), "number", numbers)
        .exclude(pk=exclude_pk)
        .order_by("number")
        .values_list("number", "kind")
    )


def login_numbers_taken(numbers: Sequence[str]) -> list[tuple[str, str]]:
    """Which of ``numbers`` are users' login numbers, as (number, account) in number order:
    such a number can never be a webfon extension (the rule lives in users.rules)."""
    return hooks.login_numbers_taken(numbers=numbers)


def webfon_numbers_among(numbers: Sequence[str]) -> set[str]:
    """Which of ``numbers`` are webfon extensions (so none can be a login number), in one
    query: the rule's one query, for one number or a whole import."""
    if not numbers:
        return set()
    return set(
        filter_numbers(
            Extension.objects.filter(kind=Extension.Kind.WEBFON), "number", numbers
        ).values_list("number", flat=True)
    )


def is_webfon_number(number: str) -> bool:
    """True when ``number`` is a webfon extension (so it can never be a login number)."""
    return number in webfon_numbers_among([number])


def free_webfon_extensions_q() -> Q:
    """A free webfon extension: in no pool and no user's fixed extension. The one definition
    of "free" that the user form (fixed extension choices) and the pool picker both use."""
    return Q(kind=Extension.Kind.WEBFON, pool__isnull=True, fixed_user__isnull=True)


def _with_holder(queryset: QuerySet) -> QuerySet:
    """``queryset``'s extensions with ``holder_pk`` and ``holder_account``: the user whose
    fixed webfon extension each is (None for none)."""
    return queryset.annotate(holder_pk=F("fixed_user__pk"), holder_account=F("fixed_user__account"))


def fixed_extension_holders(extension_ids: Sequence[int]) -> dict[int, tuple[int, str]]:
    """Extension id -> (user id, account) of the user whose fixed webfon extension it is, for
    those of ``extension_ids`` that are one, in one query: a fixed extension has one owner
    and is never in a pool."""
    if not extension_ids:
        return {}
    rows = _with_holder(
        Extension.objects.filter(pk__in=extension_ids, fixed_user__isnull=False)
    ).values_list("pk", "holder_pk", "holder_account")
    return {pk: (user_pk, account) for pk, user_pk, account in rows}


def extensions_locked_with_holders(extension_ids: Sequence[int]) -> dict[int, Extension]:
    """The extensions of ``extension_ids`` locked for this transaction (a concurrent
    pool_add_members waits), each with its number, its pool (and the pool's name) and the
    holder of :func:`fixed_extension_holders` (``holder_pk``, ``holder_account``), in one
    query: what a user about to take them as fixed extensions is checked against."""
    if not extension_ids:
        return {}
    rows = _with_holder(
        Extension.objects.select_for_update()
        .select_related("pool")
        .only("number", "kind", "pool__name")
        .filter(pk__in=extension_ids)
    )
    return {extension.pk: extension for extension in rows}


def fixed_extension_holder(
    extension: Extension, *, exclude_user_pk: int | None = None
) -> str | None:
    """The account of the user whose fixed webfon extension ``extension`` is (other than
    ``exclude_user_pk``), or None."""
    if extension.pk is None:
        return None
    holder = fixed_extension_holders([extension.pk]).get(extension.pk)
    if holder is None or holder[0] == exclude_user_pk:
        return None
    return holder[1]


def extension_license_counts(*, per_pool: bool) -> tuple[int, int, list[int]]:
    """What consumes licences: (physical, fixed webfon, pool sizes). With ``per_pool`` False
    every pooled extension counts as one pool (one aggregate query)."""
    counts = Extension.objects.aggregate(
        physical=Count("id", filter=Q(kind=Extension.Kind.PHYSICAL)),
        fixed_webfon=Count("id", filter=Q(kind=Extension.Kind.WEBFON, pool__isnull=True)),
        pooled=Count("id", filter=Q(kind=Extension.Kind.WEBFON, pool__isnull=False)),
    )
    if not per_pool:
        sizes = [counts["pooled"]] if counts["pooled"] else []
    else:
        sizes = list(
            Extension.objects.filter(kind=Extension.Kind.WEBFON, pool__isnull=False)
            .values("pool")
            .annotate(size=Count("id"))
            .order_by("pool")
            .values_list("size", flat=True)
        )
    return counts["physical"], counts["fixed_webfon"], sizes
