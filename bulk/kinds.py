"""What an import or export of each kind reads and writes: its columns (the API's field
names), its natural key, how a row's cells become the arguments of the services, and how a
row of the database becomes cells.

Nothing here decides whether a value is acceptable: a row goes to the same service
functions the forms and the API call (``users.services``, ``extensions.services``), whose
ValidationErrors become the row's errors. This module only turns names into rows (an
extension by its number, a pool by its name) and tells which cells differ from the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Model, Prefetch, QuerySet
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from core.actors import Actor
from extensions.models import Extension, ExtensionPool, Template
from extensions.services import (
    EXTENSION_EDITABLE_FIELDS,
    extension_create,
    extension_create_many,
    extension_update,
    extension_update_many,
    pool_create,
    pool_set_members,
    pool_update,
)
from nodes.models import Node
from users.models import PortalUser
from users.services import (
    USER_EDITABLE_FIELDS,
    portal_user_create,
    portal_user_create_many,
    portal_user_set_password,
    portal_user_set_password_many,
    portal_user_update,
    portal_user_update_many,
)

CHUNK = 2000


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _distinct(table_rows, column: str, *, split: bool = False) -> list[str]:
    seen: set[str] = set()
    for _number, cells in table_rows:
        text = cells.get(column, "")
        for value in text.split() if split else [text]:
            if value:
                seen.add(value)
    return sorted(seen)


@dataclass
class Refs:
    """Rows looked up once for the whole file, by natural key."""

    existing: dict[str, Model] = field(default_factory=dict)
    by: dict[str, dict[str, Model]] = field(default_factory=dict)


class KindSpec:
    kind: str
    key: str
    columns: tuple[str, ...]
    # Columns read on import, never written by an export.
    secret_columns: tuple[str, ...] = ()
    # Keyword arguments the create service requires, given when the file has no such column.
    create_defaults: dict[str, Any] = {}
    # column -> (lookup name in Refs.by, message when the name is unknown)
    references: dict[str, str] = {}

    @property
    def export_columns(self) -> tuple[str, ...]:
        return tuple(c for c in self.columns if c not in self.secret_columns)

    def key_of(self, text: str) -> str:
        return text

    def export_queryset(self) -> QuerySet:
        raise NotImplementedError

    def export_cells(self, obj: Model) -> dict[str, str]:
        raise NotImplementedError

    def prefetch(self, rows) -> Refs:
        raise NotImplementedError

    def missing_message(self, column: str, value: str) -> str:
        raise NotImplementedError

    def convert(self, column: str, text: str, refs: Refs) -> Any:
        """The service argument for ``text`` in ``column`` ("" clears an optional value)."""
        lookup = self.references.get(column)
        if lookup is None:
            return text
        if not text:
            return None
        found = refs.by[lookup].get(text)
        if found is None:
            raise ValidationError({column: self.missing_message(column, text)})
        return found

    def changes(self, obj: Model | None, cells: dict[str, str], refs: Refs) -> dict[str, Any]:
        """The service arguments of the cells that differ from ``obj`` (all of them for a new
        row). Raises ValidationError keyed by column for names that match no row."""
        current = self.export_cells(obj) if obj is not None else {}
        changed: dict[str, Any] = {}
        errors: dict[str, list[str]] = {}
        for column, text in cells.items():
            if column in self.secret_columns:
                if not text or (obj is not None and self.secret_equal(obj, column, text)):
                    continue
            elif obj is not None and current.get(column) == text:
                continue
            try:
                changed[column] = self.convert(column, text, refs)
            except ValidationError as exc:
                for name, messages in exc.message_dict.items():
                    errors.setdefault(name, []).extend(messages)
        if errors:
            raise ValidationError(errors)
        return changed

    def secret_equal(self, obj: Model, column: str, text: str) -> bool:
        return False

    def create(self, *, actor: Actor, values: dict[str, Any]) -> Model:
        raise NotImplementedError

    def create_many(
        self, *, actor: Actor, values: list[dict[str, Any]]
    ) -> list[Model | ValidationError] | None:
        """The rows created by the service's batch function (a few queries for them all), or
        None where the kind has none: each row is then created on its own."""
        return None

    def update(self, *, actor: Actor, obj: Model, values: dict[str, Any]) -> None:
        raise NotImplementedError

    def update_many(
        self, *, actor: Actor, changes: list[tuple[Model, dict[str, Any]]]
    ) -> list[Model | ValidationError] | None:
        """The rows updated by the service's batch function, in the order of ``changes``, or
        None where the kind has none: each row is then updated on its own, in order."""
        return None


class UsersSpec(KindSpec):
    kind = "users"
    key = "account"
    columns = (*USER_EDITABLE_FIELDS, "password")
    secret_columns = ("password",)
    create_defaults = {"name": ""}
    references = {"webfon_extension": "extension", "pool": "pool"}

    def key_of(self, text: str) -> str:
        return text.lower()  # accounts are unique regardless of case

    def export_queryset(self) -> QuerySet:
        return PortalUser.objects.select_related("webfon_extension", "pool").only(
            *(c for c in self.export_columns if c not in self.references),
            "webfon_extension__number",
            "pool__name",
        )

    def export_cells(self, obj: PortalUser) -> dict[str, str]:
        return {
            "account": obj.account,
            "name": obj.name,
            "email": obj.email,
            "mobile": obj.mobile,
            "validation": obj.validation,
            "second_factor": obj.second_factor,
            "login_number": obj.login_number or "",
            "webfon_extension": obj.webfon_extension.number if obj.webfon_extension_id else "",
            "pool": obj.pool.name if obj.pool_id else "",
            "max_sessions": str(obj.max_sessions),
        }

    def prefetch(self, rows) -> Refs:
        refs = Refs(by={"extension": {}, "pool": {}})
        keys = [self.key_of(a) for a in _distinct(rows, "account")]
        qs = self.export_queryset().annotate(account_key=Lower("account"))
        for chunk in _chunks(keys):
            for user in qs.filter(account_key__in=chunk):
                refs.existing[user.account_key] = user
        numbers = _distinct(rows, "webfon_extension")
        for chunk in _chunks(numbers):
            # What a user's rules read of its fixed extension (no secret decrypted per row).
            for extension in Extension.objects.filter(number__in=chunk).only("number", "kind"):
                refs.by["extension"][extension.number] = extension
        names = _distinct(rows, "pool")
        for pool in ExtensionPool.objects.filter(name__in=names):
            refs.by["pool"][pool.name] = pool
        return refs

    def missing_message(self, column: str, value: str) -> str:
        if column == "pool":
            return _("No existe el pool «%(value)s».") % {"value": value}
        return _("No existe la extensión %(value)s.") % {"value": value}

    def create(self, *, actor: Actor, values: dict[str, Any]) -> PortalUser:
        return portal_user_create(actor=actor, **(self.create_defaults | values))

    def create_many(self, *, actor: Actor, values: list[dict[str, Any]]):
        rows = [self.create_defaults | row for row in values]
        return portal_user_create_many(actor=actor, rows=rows)

    def update(self, *, actor: Actor, obj: PortalUser, values: dict[str, Any]) -> None:
        values = dict(values)
        password = values.pop("password", None)
        if values:
            portal_user_update(actor=actor, user=obj, **values)
        if password:
            portal_user_set_password(actor=actor, user=obj, password=password)

    def update_many(self, *, actor: Actor, changes):
        # The fields first (portal_user_update_many), then the passwords of the rows they
        # did not refuse, by their own service (portal_user_set_password_many: hashed
        # together), as update() does for one row.
        results: list[Any] = [obj for obj, _values in changes]
        fields = [
            (index, obj, {k: v for k, v in values.items() if k != "password"})
            for index, (obj, values) in enumerate(changes)
        ]
        fields = [(index, obj, values) for index, obj, values in fields if values]
        updated = portal_user_update_many(
            actor=actor, changes=[(obj, values) for _index, obj, values in fields]
        )
        for (index, _obj, _values), result in zip(fields, updated, strict=True):
            results[index] = result
        passwords = [
            (index, values["password"])
            for index, (_obj, values) in enumerate(changes)
            if values.get("password") and not isinstance(results[index], ValidationError)
        ]
        set_ = portal_user_set_password_many(
            actor=actor, changes=[(results[index], password) for index, password in passwords]
        )
        for (index, _password), result in zip(passwords, set_, strict=True):
            results[index] = result
        return results


class ExtensionsSpec(KindSpec):
    kind = "extensions"
    key = "number"
    # The form's fields, the secret last (an exported file has it empty).
    columns = (
        *(name for name in EXTENSION_EDITABLE_FIELDS if name != "registration_secret"),
        "registration_secret",
    )
    secret_columns = ("registration_secret",)
    create_defaults = {"kind": "", "node": None, "site": "", "department": ""}
    references = {"node": "node", "template": "template", "owner": "owner", "pool": "pool"}

    def export_queryset(self, *also: str) -> QuerySet:
        return Extension.objects.select_related("node", "template", "owner", "pool").only(
            "number",
            "kind",
            "site",
            "department",
            "node__name",
            "template__name",
            "owner__account",
            "pool__name",
            *also,
        )

    def export_cells(self, obj: Extension) -> dict[str, str]:
        return {
            "number": obj.number,
            "kind": obj.kind,
            "node": obj.node.name,
            "template": obj.template.name if obj.template_id else "",
            "site": obj.site,
            "department": obj.department,
            "owner": obj.owner.account if obj.owner_id else "",
            "pool": obj.pool.name if obj.pool_id else "",
        }

    def prefetch(self, rows) -> Refs:
        refs = Refs(by={"node": {}, "template": {}, "owner": {}, "pool": {}})
        numbers = _distinct(rows, "number")
        # With the secrets when the file gives some: secret_equal compares them.
        qs = self.export_queryset(
            *self.secret_columns if _distinct(rows, "registration_secret") else ()
        )
        for chunk in _chunks(numbers):
            for extension in qs.filter(number__in=chunk):
                refs.existing[extension.number] = extension
        refs.by["node"] = {n.name: n for n in Node.objects.filter(name__in=_distinct(rows, "node"))}
        refs.by["template"] = {
            t.name: t for t in Template.objects.filter(name__in=_distinct(rows, "template"))
        }
        for chunk in _chunks(_distinct(rows, "owner")):
            for user in PortalUser.objects.filter(account__in=chunk).only("account"):
                refs.by["owner"][user.account] = user
        refs.by["pool"] = {
            p.name: p for p in ExtensionPool.objects.filter(name__in=_distinct(rows, "pool"))
        }
        return refs

    def missing_message(self, column: str, value: str) -> str:
        return {
            "node": _("No existe el nodo «%(value)s»."),
            "template": _("No existe la plantilla «%(value)s»."),
            "owner": _("No existe el usuario «%(value)s»."),
            "pool": _("No existe el pool «%(value)s»."),
        }[column] % {"value": value}

    def secret_equal(self, obj: Extension, column: str, text: str) -> bool:
        return getattr(obj, column) == text  # loaded with the rows when the file has the column

    def create(self, *, actor: Actor, values: dict[str, Any]) -> Extension:
        return extension_create(actor=actor, **(self.create_defaults | values))

    def create_many(self, *, actor: Actor, values: list[dict[str, Any]]):
        rows = [self.create_defaults | row for row in values]
        return extension_create_many(actor=actor, rows=rows)

    def update(self, *, actor: Actor, obj: Extension, values: dict[str, Any]) -> None:
        extension_update(actor=actor, extension=obj, **values)

    def update_many(self, *, actor: Actor, changes):
        return extension_update_many(actor=actor, changes=changes)


class PoolsSpec(KindSpec):
    kind = "pools"
    key = "name"
    columns = ("name", "base_extension", "description", "members")
    create_defaults = {"base_extension": None}
    references = {"base_extension": "extension"}

    def export_queryset(self) -> QuerySet:
        return ExtensionPool.objects.select_related("base_extension").prefetch_related(
            Prefetch("members", queryset=Extension.objects.only("number", "pool_id"))
        )

    def export_cells(self, obj: ExtensionPool) -> dict[str, str]:
        return {
            "name": obj.name,
            "base_extension": obj.base_extension.number,
            "description": obj.description,
            "members": " ".join(sorted(m.number for m in obj.members.all())),
        }

    def prefetch(self, rows) -> Refs:
        refs = Refs(by={"extension": {}})
        for pool in self.export_queryset().filter(name__in=_distinct(rows, "name")):
            refs.existing[pool.name] = pool
        numbers = sorted(
            set(_distinct(rows, "base_extension")) | set(_distinct(rows, "members", split=True))
        )
        for chunk in _chunks(numbers):
            for extension in Extension.objects.filter(number__in=chunk):
                refs.by["extension"][extension.number] = extension
        return refs

    def missing_message(self, column: str, value: str) -> str:
        return _("No existe la extensión %(value)s.") % {"value": value}

    def changes(self, obj, cells, refs) -> dict[str, Any]:
        if obj is not None and "members" in cells:
            # The same members in another order or spacing are no change.
            current = set(self.export_cells(obj)["members"].split())
            if set(cells["members"].split()) == current:
                cells = {k: v for k, v in cells.items() if k != "members"}
        return super().changes(obj, cells, refs)

    def convert(self, column: str, text: str, refs: Refs) -> Any:
        if column != "members":
            return super().convert(column, text, refs)
        members, unknown = [], []
        for number in text.split():
            extension = refs.by["extension"].get(number)
            if extension is None:
                unknown.append(number)
            else:
                members.append(extension)
        if unknown:
            raise ValidationError(
                {
                    column: _("No existen las extensiones %(numbers)s.")
                    % {"numbers": ", ".join(unknown)}
                }
            )
        return members

    def create(self, *, actor: Actor, values: dict[str, Any]) -> ExtensionPool:
        return pool_create(actor=actor, **(self.create_defaults | values))

    def update(self, *, actor: Actor, obj: ExtensionPool, values: dict[str, Any]) -> None:
        values = dict(values)
        members = values.pop("members", None)
        if values:
            pool_update(actor=actor, pool=obj, **values)
        if members is not None:
            pool_set_members(actor=actor, pool=obj, extensions=members)


SPECS: dict[str, KindSpec] = {
    spec.kind: spec for spec in (UsersSpec(), ExtensionsSpec(), PoolsSpec())
}
