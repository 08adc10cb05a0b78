"""Writes on extensions, pools and templates (manual §7.2, §7.4, §7.5).

Forms, the REST API and management commands all call these functions, so every rule
is enforced in one place. Each function is atomic and records an audit entry.
"""

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from core.actors import Actor
from core.audit import audit_record, audit_record_created, audit_snapshot
from core.bulk import bulk_insert, bulk_insert_instances
from core.exceptions import ServiceConflict
from core.transactions import retrying_atomic
from core.updates import apply_fields, call_isolated, save_updated, validate_row
from extensions.models import (
    Extension,
    ExtensionPool,
    Template,
    generate_registration_secret,
    number_validator,
)
from extensions.selectors import (
    filter_numbers,
    fixed_extension_holder,
    fixed_extension_holders,
    login_numbers_taken,
    numbers_taken,
)
from licensing.services import license_require
from nodes.models import Node

MAX_RANGE_SIZE = 10_000
# What an extension's form, API serializer and update service edit, in the form's order: the
# one list of them.
EXTENSION_EDITABLE_FIELDS = (
    "number",
    "kind",
    "node",
    "template",
    "site",
    "department",
    "registration_secret",
    "owner",
    "pool",
)
EXTENSION_FIELDS = frozenset(EXTENSION_EDITABLE_FIELDS)
# What a pool's form and update service edit (its members go through pool_set_members).
POOL_EDITABLE_FIELDS = (
    "name",
    "base_extension",
    "description",
    "max_session_minutes",
    "daily_release_time",
    "relogin",
)
POOL_FIELDS = frozenset(POOL_EDITABLE_FIELDS)
TEMPLATE_FIELDS = frozenset({"name", "value", "webfon"})


# --- templates ----------------------------------------------------------------------------


def system_template() -> Template:
    return Template.objects.get(is_system=True)


def _check_template_name_free(*, name: str, exclude_pk: int | None = None) -> None:
    if Template.objects.filter(name__iexact=name).exclude(pk=exclude_pk).exists():
        raise ServiceConflict(
            {"name": _("Ya existe una plantilla llamada «%(name)s».") % {"name": name}}
        )


def _refuse_system_template(template: Template, verb: str) -> None:
    if template.is_system:
        raise ValidationError(
            _(
                "La plantilla «%(name)s» es de sistema y no se puede %(verb)s; use «Duplicar» "
                "y modifique la copia."
            )
            % {"name": template.name, "verb": verb}
        )


@retrying_atomic
def template_create(*, actor: Actor, name: str, value: str, webfon: bool = False) -> Template:
    name = name.strip()
    _check_template_name_free(name=name)
    template = Template(name=name, value=value, webfon=webfon)
    template.full_clean()
    template.save()
    audit_record(
        actor=actor, action="template.create", instance=template, after=audit_snapshot(template)
    )
    return template


@retrying_atomic
def template_duplicate(*, actor: Actor, template: Template, name: str) -> Template:
    """Copy a template; a copy of a webfon template keeps "Extensiones webfon" in its name."""
    name = name.strip()
    _check_template_name_free(name=name)
    copy = Template(name=name, value=template.value, webfon=template.webfon, copied_from=template)
    copy.full_clean()
    copy.save()
    audit_record(
        actor=actor,
        action="template.duplicate",
        instance=copy,
        after=audit_snapshot(copy),
        extra={"source": template.name},
    )
    return copy


@retrying_atomic
def template_update(*, actor: Actor, template: Template, **data: Any) -> Template:
    template = Template.objects.select_for_update().get(pk=template.pk)
    _refuse_system_template(template, _("modificar"))
    before = audit_snapshot(template)
    if "name" in data:
        data["name"] = data["name"].strip()
        _check_template_name_free(name=data["name"], exclude_pk=template.pk)
    if data.get("webfon") is False and template.webfon:
        in_use = template.extensions.filter(kind=Extension.Kind.WEBFON).count()
        if in_use or template.copied_from_id:
            raise ValidationError(
                {
                    "webfon": _(
                        "La plantilla «%(name)s» es una plantilla webfon (copia de otra o en uso "
                        "por %(count)d extensiones webfon) y debe seguir siéndolo."
                    )
                    % {"name": template.name, "count": in_use}
                }
            )
    apply_fields(template, data=data, allowed=TEMPLATE_FIELDS)
    template.full_clean()
    template.save()
    audit_record(
        actor=actor,
        action="template.update",
        instance=template,
        before=before,
        after=audit_snapshot(template),
    )
    return template


@retrying_atomic
def template_delete(*, actor: Actor, template: Template) -> None:
    _refuse_system_template(template, _("borrar"))
    count = template.extensions.count()
    if count:
        raise ServiceConflict(
            _("No se puede borrar la plantilla «%(name)s»: la usan %(count)d extensiones.")
            % {"name": template.name, "count": count}
        )
    audit_record(
        actor=actor, action="template.delete", instance=template, before=audit_snapshot(template)
    )
    template.delete()


# --- extension numbers --------------------------------------------------------------------


def _taken_message(*, number: str, kind: str, other_kind: str) -> str:
    """Why ``number`` cannot be an extension of ``kind``: an extension of ``other_kind`` has it."""
    if kind == Extension.Kind.WEBFON and other_kind == Extension.Kind.PHYSICAL:
        message = _(
            "El número %(number)s es una extensión física: la numeración de las "
            "extensiones webfon nunca puede coincidir con la de las extensiones físicas."
        )
    elif kind == Extension.Kind.PHYSICAL and other_kind == Extension.Kind.WEBFON:
        message = _(
            "El número %(number)s es una extensión webfon: la numeración de las "
            "extensiones físicas nunca puede coincidir con la de las extensiones webfon."
        )
    else:
        message = _("Ya existe la extensión %(number)s; el número de extensión es único.")
    return message % {"number": number}


def _logins_message(logins: Iterable[tuple[str, str]]) -> str:
    return _(
        "Estos números son números de login de usuarios y no pueden ser "
        "extensiones webfon: %(numbers)s."
    ) % {"numbers": _short_list(f"{n} ({a})" for n, a in logins)}


def _check_numbers_free(
    *, numbers: Sequence[str], kind: str, exclude_pk: int | None = None
) -> None:
    """An extension number is unique; a webfon number never equals a physical one nor a login number."""
    taken = numbers_taken(numbers, exclude_pk=exclude_pk)
    if taken:
        if len(numbers) == 1:
            number, other_kind = taken[0]
            raise ServiceConflict(
                {"number": _taken_message(number=number, kind=kind, other_kind=other_kind)}
            )
        raise ServiceConflict(
            {
                "number": _("Ya existen extensiones con estos números: %(numbers)s.")
                % {"numbers": _short_list(n for n, _k in taken)}
            }
        )
    if kind == Extension.Kind.WEBFON:
        logins = login_numbers_taken(numbers)
        if logins:
            raise ServiceConflict({"number": _logins_message(logins)})


def _short_list(items: Iterable[str], limit: int = 20) -> str:
    items = list(items)
    shown = ", ".join(items[:limit])
    if len(items) > limit:
        shown += _(" y %(more)d más") % {"more": len(items) - limit}
    return shown


_READ = object()  # "read the holder" (an argument left out)


def _check_pool_membership(
    *,
    extension: Extension,
    pool: ExtensionPool,
    current_pool: ExtensionPool | None,
    holder: Any = _READ,
) -> None:
    """A pool member is a webfon extension that is no user's fixed extension and in no other pool.

    ``current_pool`` is the pool the extension is in now; a different one is a conflict
    (pass None where moving the extension between pools is what the caller asked for).
    ``holder``: the account whose fixed extension it is (or None), when the caller read it
    already (fixed_extension_holders, for many extensions at once).
    """
    if extension.kind != Extension.Kind.WEBFON:
        raise ValidationError(
            {
                "pool": _(
                    "La extensión %(number)s es física: los miembros de un pool son extensiones "
                    "webfon."
                )
                % {"number": extension.number}
            }
        )
    if current_pool is not None and current_pool.pk != pool.pk:
        raise ServiceConflict(
            {
                "pool": _(
                    "La extensión %(number)s ya pertenece al pool «%(pool)s»; una extensión está "
                    "en un solo pool."
                )
                % {"number": extension.number, "pool": current_pool.name}
            }
        )
    if holder is _READ:
        holder = fixed_extension_holder(extension)
    if holder is not None:
        raise ServiceConflict(
            {
                "pool": _(
                    "La extensión %(number)s es la extensión webfon fija del usuario %(account)s; "
                    "no puede estar además en un pool."
                )
                % {"number": extension.number, "account": holder}
            }
        )


# --- extensions ---------------------------------------------------------------------------


def _extension_build(
    *,
    number: str,
    kind: str,
    node: Node | None,
    site: str,
    department: str,
    template: Template | None = None,
    registration_secret: str | None = None,
    owner: Any = None,
    pool: ExtensionPool | None = None,
) -> Extension:
    """A new extension, normalized and validated on its own (no other row looked at)."""
    extension = Extension(
        number=(number or "").strip(),
        kind=kind,
        node=node,
        template=template,
        site=(site or "").strip(),
        department=(department or "").strip(),
        registration_secret=registration_secret or generate_registration_secret(),
        owner=owner,
        pool=None,
    )
    validate_row(extension)
    if pool is not None:
        _check_pool_membership(extension=extension, pool=pool, current_pool=None)
        extension.pool = pool
    return extension


@retrying_atomic
def extension_create(
    *,
    actor: Actor,
    number: str,
    kind: str,
    node: Node,
    site: str,
    department: str,
    template: Template | None = None,
    registration_secret: str | None = None,
    owner: Any = None,
    pool: ExtensionPool | None = None,
) -> Extension:
    if kind == Extension.Kind.WEBFON and template is None:
        template = system_template()
    extension = _extension_build(
        number=number,
        kind=kind,
        node=node,
        site=site,
        department=department,
        template=template,
        registration_secret=registration_secret,
        owner=owner,
        pool=pool,
    )
    _check_numbers_free(numbers=[extension.number], kind=kind)
    license_require(needed=1)
    # Validated once (above), in Python: see _check_numbers_free and
    # tests/users/test_constraints_covered.py for why no constraint needs a query of its own.
    extension.save()
    audit_record(
        actor=actor, action="extension.create", instance=extension, after=audit_snapshot(extension)
    )
    return extension


@retrying_atomic
def extension_create_many(
    *, actor: Actor, rows: Sequence[dict[str, Any]]
) -> list[Extension | ValidationError]:
    """Create one extension per item of ``rows`` (the keyword arguments of extension_create),
    with its rules, in a number of queries that does not grow with the rows.

    Answers, in the order of ``rows``, the created extension or the ValidationError that
    refused that row (the others are created: the caller's transaction decides whether a
    refused row undoes them). Raises ServiceConflict, creating nothing, when the licences
    free do not cover the rows. One audit entry per extension, as extension_create writes.
    """
    system = None
    results: list[Extension | ValidationError] = []
    for row in rows:
        if row.get("kind") == Extension.Kind.WEBFON and row.get("template") is None:
            system = system or system_template()
            row = {**row, "template": system}
        try:
            results.append(_extension_build(**row))
        except ValidationError as exc:
            results.append(exc)
    built = [(i, e) for i, e in enumerate(results) if isinstance(e, Extension)]
    numbers = [e.number for _i, e in built]
    taken = dict(numbers_taken(numbers)) if numbers else {}
    webfon = [e.number for _i, e in built if e.kind == Extension.Kind.WEBFON]
    logins = dict(login_numbers_taken(webfon)) if webfon else {}
    seen: dict[str, str] = {}
    for i, extension in built:
        number, kind = extension.number, extension.kind
        other_kind = taken.get(number) or seen.get(number)
        if other_kind is not None:
            message = _taken_message(number=number, kind=kind, other_kind=other_kind)
            results[i] = ServiceConflict({"number": message})
        elif kind == Extension.Kind.WEBFON and number in logins:
            results[i] = ServiceConflict({"number": _logins_message([(number, logins[number])])})
        else:
            seen[number] = kind
    creating = [e for e in results if isinstance(e, Extension)]
    license_require(needed=len(creating))
    saved = iter(bulk_insert_instances(creating))
    results = [next(saved) if isinstance(row, Extension) else row for row in results]
    creating = [row for row in results if isinstance(row, Extension)]
    if creating and creating[0].pk is None:  # no INSERT … RETURNING (MySQL): read the ids
        ids = dict(
            filter_numbers(
                Extension.objects.all(), "number", [e.number for e in creating]
            ).values_list("number", "pk")
        )
        for extension in creating:
            extension.pk = ids[extension.number]
    audit_record_created(actor=actor, action="extension.create", instances=creating)
    return results


@retrying_atomic
def extension_update(*, actor: Actor, extension: Extension, **data: Any) -> Extension:
    extension = Extension.objects.select_for_update().get(pk=extension.pk)
    before = audit_snapshot(extension)
    if "number" in data:
        data["number"] = (data["number"] or "").strip()
    if data.get("registration_secret") in (None, "") and "registration_secret" in data:
        del data["registration_secret"]  # an empty secret keeps the current one
    apply_fields(extension, data=data, allowed=EXTENSION_FIELDS)
    validate_row(extension)

    if "number" in data or "kind" in data:
        _check_numbers_free(
            numbers=[extension.number], kind=extension.kind, exclude_pk=extension.pk
        )
    physical = extension.kind == Extension.Kind.PHYSICAL
    _check_update_kept(
        extension,
        holder=fixed_extension_holder(extension) if physical else None,
        base_of=list(extension.base_of_pools.values_list("name", flat=True)) if physical else [],
    )
    # Validated once (above), in Python; the database still enforces every constraint.
    extension.save()
    audit_record(
        actor=actor,
        action="extension.update",
        instance=extension,
        before=before,
        after=audit_snapshot(extension),
    )
    return extension


def _check_update_kept(
    extension: Extension, *, holder: str | None, base_of: list[str], pool_holder: Any = _READ
) -> None:
    """What an updated extension must still be: a physical one is no user's fixed extension
    (``holder``) and no pool's base extension (``base_of``, the pools' names); a pool member
    is a webfon extension no user holds (``pool_holder``, read here when not given)."""
    if extension.kind == Extension.Kind.PHYSICAL:
        if holder is not None:
            raise ServiceConflict(
                {
                    "kind": _(
                        "La extensión %(number)s es la extensión webfon fija del usuario "
                        "%(account)s y no puede pasar a ser física."
                    )
                    % {"number": extension.number, "account": holder}
                }
            )
        if base_of:
            raise ServiceConflict(
                {
                    "kind": _(
                        "La extensión %(number)s es la extensión base del pool «%(pools)s» y no "
                        "puede pasar a ser física."
                    )
                    % {"number": extension.number, "pools": ", ".join(base_of)}
                }
            )
    if extension.pool is not None:
        # Setting the extension's pool field moves it between pools, as in the manual's form.
        _check_pool_membership(
            extension=extension, pool=extension.pool, current_pool=None, holder=pool_holder
        )


# What an update may change on its own row only: no rule across rows reads them (the number,
# the kind and the pool are checked against other rows).
EXTENSION_ROW_LOCAL_FIELDS = frozenset(
    {"site", "department", "template", "registration_secret", "owner", "node"}
)


@retrying_atomic
def extension_update_many(
    *, actor: Actor, changes: Sequence[tuple[Extension, dict[str, Any]]]
) -> list[Extension | ValidationError]:
    """Update each extension of ``changes`` with its data (the keyword arguments of
    extension_update), with its rules, answering in order the updated extension or the
    ValidationError that refused that row (the others are saved: the caller's transaction
    decides whether a refused row undoes them). Distinct extensions, one change each.

    A change of fields only its own row reads (site, department, template, node, owner,
    registration secret) is checked and saved with the others in a few queries; a change of
    the number, the kind or the pool goes through extension_update, in order, in a savepoint
    of its own. One audit entry per updated extension, as extension_update writes.
    """
    # What their rules read (pool, node, template) without a lock, as extension_update does.
    locked = (
        Extension.objects.select_for_update()
        .prefetch_related("pool", "node", "template")
        .in_bulk([extension.pk for extension, _data in changes])
    )
    results: list[Extension | ValidationError | None] = [None] * len(changes)
    batch: list[tuple[int, Extension, dict[str, Any], set[str]]] = []
    for index, (given, data) in enumerate(changes):
        extension = locked.get(given.pk)
        if extension is None or not set(data) <= EXTENSION_ROW_LOCAL_FIELDS:
            results[index] = call_isolated(
                lambda given=given, data=data: extension_update(
                    actor=actor, extension=given, **data
                )
            )
            continue
        data = dict(data)
        before = audit_snapshot(extension)
        if data.get("registration_secret") in (None, "") and "registration_secret" in data:
            del data["registration_secret"]  # an empty secret keeps the current one
        changed = apply_fields(extension, data=data, allowed=EXTENSION_FIELDS)
        try:
            validate_row(extension)
        except ValidationError as exc:
            results[index] = exc
            continue
        batch.append((index, extension, before, changed))
    # The rules extension_update keeps on every update, each read once for the batch.
    physical = [e.pk for _i, e, _b, _c in batch if e.kind == Extension.Kind.PHYSICAL]
    held = [e.pk for _i, e, _b, _c in batch if e.kind == Extension.Kind.PHYSICAL or e.pool_id]
    holders = fixed_extension_holders(held) if held else {}
    base_of: dict[int, list[str]] = {}
    if physical:
        for pk, name in ExtensionPool.objects.filter(base_extension_id__in=physical).values_list(
            "base_extension_id", "name"
        ):
            base_of.setdefault(pk, []).append(name)
    saving = []
    for index, extension, before, changed in batch:
        holder = holders.get(extension.pk, (None, None))[1]
        try:
            _check_update_kept(
                extension,
                holder=holder if extension.kind == Extension.Kind.PHYSICAL else None,
                base_of=base_of.get(extension.pk, []),
                pool_holder=holder,
            )
        except ValidationError as exc:
            results[index] = exc
            continue
        results[index] = extension
        saving.append((extension, before, changed))
    save_updated(actor=actor, action="extension.update", rows=saving)
    return results  # type: ignore[return-value]


@retrying_atomic
def extension_delete(*, actor: Actor, extension: Extension) -> None:
    holder = fixed_extension_holder(extension)
    if holder is not None:
        raise ServiceConflict(
            _(
                "No se puede borrar la extensión %(number)s: es la extensión webfon fija del "
                "usuario %(account)s."
            )
            % {"number": extension.number, "account": holder}
        )
    base_of = list(extension.base_of_pools.values_list("name", flat=True))
    if base_of:
        raise ServiceConflict(
            _(
                "No se puede borrar la extensión %(number)s: es la extensión base del pool «%(pools)s»."
            )
            % {"number": extension.number, "pools": ", ".join(base_of)}
        )
    audit_record(
        actor=actor, action="extension.delete", instance=extension, before=audit_snapshot(extension)
    )
    extension.delete()


# --- pools --------------------------------------------------------------------------------


def _check_pool_name_free(*, name: str, exclude_pk: int | None = None) -> None:
    if ExtensionPool.objects.filter(name__iexact=name).exclude(pk=exclude_pk).exists():
        raise ServiceConflict({"name": _("Ya existe un pool llamado «%(name)s».") % {"name": name}})


@retrying_atomic
def pool_create(
    *,
    actor: Actor,
    name: str,
    base_extension: Extension,
    description: str = "",
    members: Iterable[Extension] = (),
    max_session_minutes: int | None = None,
    daily_release_time: datetime.time | None = None,
    relogin: str = ExtensionPool.Relogin.REUSE,
) -> ExtensionPool:
    """Create a pool. The base extension is a member only if it is in ``members``."""
    name = name.strip()
    _check_pool_name_free(name=name)
    pool = ExtensionPool(
        name=name,
        base_extension=base_extension,
        description=description,
        max_session_minutes=max_session_minutes,
        daily_release_time=daily_release_time,
        relogin=relogin,
    )
    pool.full_clean()
    pool = ExtensionPool(name=name, base_extension=base_extension, description=description)
    validate_row(pool)  # its unique name: _check_pool_name_free
    pool.save()
    audit_record(actor=actor, action="pool.create", instance=pool, after=audit_snapshot(pool))
    members = list(members)
    if members:
        pool_add_members(actor=actor, pool=pool, extensions=members)
    return pool


@retrying_atomic
def pool_update(*, actor: Actor, pool: ExtensionPool, **data: Any) -> ExtensionPool:
    pool = ExtensionPool.objects.select_for_update().get(pk=pool.pk)
    before = audit_snapshot(pool)
    if "name" in data:
        data["name"] = data["name"].strip()
        _check_pool_name_free(name=data["name"], exclude_pk=pool.pk)
    apply_fields(pool, data=data, allowed=POOL_FIELDS)
    validate_row(pool)  # its unique name: _check_pool_name_free
    pool.save()
    audit_record(
        actor=actor, action="pool.update", instance=pool, before=before, after=audit_snapshot(pool)
    )
    return pool


@retrying_atomic
def pool_delete(*, actor: Actor, pool: ExtensionPool) -> None:
    """Delete a pool; its members stay as webfon extensions outside any pool."""
    accounts = list(pool.users.order_by("account").values_list("account", flat=True)[:21])
    if accounts:
        raise ServiceConflict(
            _("No se puede borrar el pool «%(name)s»: lo usan los usuarios %(accounts)s.")
            % {"name": pool.name, "accounts": _short_list(accounts)}
        )
    released = list(pool.members.order_by("number").values_list("number", flat=True))
    pool.members.update(pool=None)
    audit_record(
        actor=actor,
        action="pool.delete",
        instance=pool,
        before=audit_snapshot(pool),
        extra={"released_members": released},
    )
    pool.delete()


@retrying_atomic
def pool_add_members(*, actor: Actor, pool: ExtensionPool, extensions: Iterable[Extension]) -> None:
    pool = ExtensionPool.objects.select_for_update().get(pk=pool.pk)
    ids = [extension.pk for extension in extensions]
    locked = list(Extension.objects.select_for_update().filter(pk__in=ids).select_related("pool"))
    for extension in locked:
        _check_pool_membership(extension=extension, pool=pool, current_pool=extension.pool)
    added = sorted(e.number for e in locked if e.pool_id != pool.pk)
    Extension.objects.filter(pk__in=[e.pk for e in locked]).update(pool=pool)
    if added:
        audit_record(actor=actor, action="pool.add_members", instance=pool, extra={"added": added})


@retrying_atomic
def pool_remove_member(*, actor: Actor, pool: ExtensionPool, extension: Extension) -> None:
    """Clearing an extension's pool removes it from the pool (manual §7.5)."""
    updated = Extension.objects.filter(pk=extension.pk, pool=pool).update(pool=None)
    if not updated:
        raise ValidationError(
            {
                "pool": _("La extensión %(number)s no es miembro del pool «%(pool)s».")
                % {"number": extension.number, "pool": pool.name}
            }
        )
    audit_record(
        actor=actor,
        action="pool.remove_member",
        instance=pool,
        extra={"removed": [extension.number]},
    )


def range_numbers(first: str, last: str) -> list[str]:
    """The numbers first..last, validated; zero-padded like ``first`` when it starts with 0."""
    errors: dict[str, str] = {}
    for field, value in (("first", first), ("last", last)):
        try:
            number_validator(value)
        except ValidationError:
            errors[field] = _(
                "«%(value)s» no es un número de extensión (solo dígitos, de 1 a 15)."
            ) % {"value": value}
    if errors:
        raise ValidationError(errors)
    low, high = int(first), int(last)
    if high < low:
        raise ValidationError(
            {
                "last": _("La última extensión %(last)s es menor que la primera %(first)s.")
                % {"first": first, "last": last}
            }
        )
    size = high - low + 1
    if size > MAX_RANGE_SIZE:
        raise ValidationError(
            {
                "last": _(
                    "El rango %(first)s..%(last)s tiene %(size)d extensiones; el máximo es %(max)d."
                )
                % {"first": first, "last": last, "size": size, "max": MAX_RANGE_SIZE}
            }
        )
    width = len(first) if first.startswith("0") else 0
    numbers = [str(n).zfill(width) for n in range(low, high + 1)]
    if len(numbers[-1]) > 15:
        raise ValidationError(
            {"last": _("El rango supera los 15 dígitos de un número de extensión.")}
        )
    return numbers


@dataclass(frozen=True)
class RangeCheck:
    """What pool_create_range would find for a range, without writing anything."""

    numbers: list[str]
    existing: list[tuple[str, str]]  # (number, kind) of extensions that exist already
    logins: list[tuple[str, str]]  # (number, account) of users' login numbers


def pool_range_check(*, first: str, last: str) -> RangeCheck:
    """The range checks of pool_create_range as a dry run (the "Rango de extensiones" preview):
    the numbers, or a ValidationError naming the bad bound, and the numbers it would refuse."""
    numbers = range_numbers((first or "").strip(), (last or "").strip())
    return RangeCheck(
        numbers=numbers, existing=numbers_taken(numbers), logins=login_numbers_taken(numbers)
    )


@retrying_atomic
def pool_create_range(
    *, actor: Actor, pool: ExtensionPool, first: str, last: str
) -> list[Extension]:
    """Create webfon extensions first..last with the base extension's profile, as pool members.

    All or nothing: if any number exists, or fewer licences are free than the range needs,
    nothing is created. The number of queries does not depend on the size of the range.
    """
    numbers = range_numbers((first or "").strip(), (last or "").strip())
    pool = (
        ExtensionPool.objects.select_for_update().select_related("base_extension").get(pk=pool.pk)
    )
    base = pool.base_extension
    _check_numbers_free(numbers=numbers, kind=Extension.Kind.WEBFON)
    license_require(needed=len(numbers))
    # One multi-row INSERT (RETURNING the ids): the profile is prepared once, only the number
    # and a generated registration secret (its field default, encrypted) change per row.
    extensions = bulk_insert(
        Extension,
        shared={
            "kind": Extension.Kind.WEBFON,
            "node_id": base.node_id,
            "template_id": base.template_id,
            "site": base.site,
            "department": base.department,
            "pool": pool,
        },
        rows=[{"number": number} for number in numbers],
    )
    audit_record(
        actor=actor,
        action="pool.create_range",
        instance=pool,
        extra={"first": numbers[0], "last": numbers[-1], "created": len(numbers)},
    )
    return extensions


@retrying_atomic
def pool_set_members(*, actor: Actor, pool: ExtensionPool, extensions: Iterable[Extension]) -> None:
    """Make the pool's members exactly ``extensions``: add the new ones, release the others."""
    extensions = list(extensions)
    wanted = {extension.pk for extension in extensions}
    current = set(pool.members.values_list("pk", flat=True))
    to_add = [extension for extension in extensions if extension.pk not in current]
    released = list(
        Extension.objects.filter(pool=pool, pk__in=current - wanted)
        .order_by("number")
        .values_list("number", flat=True)
    )
    if released:
        Extension.objects.filter(pool=pool, pk__in=current - wanted).update(pool=None)
        audit_record(
            actor=actor, action="pool.remove_member", instance=pool, extra={"removed": released}
        )
    if to_add:
        pool_add_members(actor=actor, pool=pool, extensions=to_add)


@retrying_atomic
def extension_reveal_secret(*, actor: Actor, extension: Extension) -> str:
    """The registration secret in clear, for an administrator; every reveal is audited."""
    audit_record(actor=actor, action="extension.reveal_secret", instance=extension)
    return Extension.objects.get(pk=extension.pk).registration_secret
