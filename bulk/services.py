"""Bulk import of users, extensions and pools: preview (dry run) and apply.

Every row goes through the service functions the forms and the API use (their batch
functions, ``*_create_many`` / ``*_update_many``, where the kind has them), so every rule of
the service layer applies and none is written again here. A preview runs the whole file in a
transaction that is rolled back, a refused row never hiding the errors of the next (the batch
functions answer each row's error; a row written on its own runs in a savepoint); applying
runs it again in one transaction that commits only when no row fails and every row does what
the preview said (the file and the data unchanged).
The services record one audit entry per created or updated row and ask for the pushes the
change needs, once per node after the commit.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections import Counter
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bulk.files import read_table
from bulk.kinds import SPECS, KindSpec
from bulk.models import Import
from core.actors import Actor
from core.audit import audit_record
from core.dry_run import dry_run
from core.transactions import run_atomic

logger = logging.getLogger("bulk")

NEW, UPDATED, UNCHANGED, INVALID = "new", "updated", "unchanged", "invalid"
ACTIONS = (NEW, UPDATED, UNCHANGED, INVALID)

# progress(done, total): called as rows are done (the caller decides how often to record it).
Progress = Callable[[int, int], None]


@dataclass
class Outcome:
    rows: int = 0
    plan: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, int]:
        counts = Counter(self.plan)
        return {action: counts.get(action, 0) for action in ACTIONS}


class _Rollback(Exception):
    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome


def _row_errors(row: int | None, exc: ValidationError, *, key: str) -> list[dict[str, Any]]:
    """A ValidationError as {row, column, message}; errors without a field go to the key."""
    if hasattr(exc, "error_dict"):
        items = exc.message_dict.items()
    else:
        items = [(NON_FIELD_ERRORS, exc.messages)]
    return [
        {"row": row, "column": key if name == NON_FIELD_ERRORS else name, "message": str(message)}
        for name, messages in items
        for message in messages
    ]


def _spec(kind: str) -> KindSpec:
    try:
        return SPECS[kind]
    except KeyError:
        raise ValidationError(
            {
                "kind": _("«%(kind)s» no es un tipo de importación: %(kinds)s.")
                % {"kind": kind, "kinds": ", ".join(SPECS)}
            }
        ) from None


def _run(
    *, actor: Actor, spec: KindSpec, content: bytes, progress: Progress | None = None
) -> Outcome:
    """Run the file's rows through the services inside the caller's transaction, telling
    ``progress`` the rows done (their outcome known) as it goes."""
    table = read_table(content, allowed=spec.columns)
    if spec.key not in table.columns:
        raise ValidationError(
            _("Falta la columna «%(key)s», que identifica cada fila.") % {"key": spec.key}
        )
    outcome = Outcome(rows=len(table.rows))
    done = 0

    def advance(count: int = 1) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(done, outcome.rows)

    refs = spec.prefetch(table.rows)
    first_row: dict[str, int] = {}
    planned: list[tuple[int, dict[str, str], Any, dict[str, Any] | None]] = []
    for number, cells in table.rows:
        key = spec.key_of(cells[spec.key])
        try:
            if key in first_row:
                raise ValidationError(
                    {
                        spec.key: _(
                            "«%(value)s» ya aparece en la fila %(row)d del fichero: cada fila es "
                            "un %(key)s distinto."
                        )
                        % {"value": cells[spec.key], "row": first_row[key], "key": spec.key}
                    }
                )
            if key:
                first_row[key] = number
            obj = refs.existing.get(key)
            planned.append((number, cells, obj, spec.changes(obj, cells, refs)))
        except ValidationError as exc:
            outcome.errors.extend(_row_errors(number, exc, key=spec.key))
            planned.append((number, cells, None, None))

    # Updates first, in the order of the file, then the new rows; each through the service's
    # batch function when the kind has one (a few queries for any number of rows), else row
    # by row. Progress counts a row once its outcome is known.
    actions: dict[int, str] = {}
    creations: list[tuple[int, dict[str, Any]]] = []
    updates: list[tuple[int, Any, dict[str, Any]]] = []
    for number, _cells, obj, values in planned:
        if values is None:
            actions[number] = INVALID
        elif obj is None:
            creations.append((number, values))
            continue
        elif not values:
            actions[number] = UNCHANGED
        else:
            updates.append((number, obj, values))
            continue
        advance()
    updated = (
        spec.update_many(actor=actor, changes=[(obj, values) for _n, obj, values in updates])
        if updates
        else []
    )
    if updated is None:
        for number, obj, values in updates:
            actions[number] = _apply_row(
                outcome,
                number,
                spec.key,
                lambda o=obj, v=values: spec.update(actor=actor, obj=o, values=v),
            )
            advance()
    else:
        for (number, _obj, _values), result in zip(updates, updated, strict=True):
            if isinstance(result, ValidationError):
                outcome.errors.extend(_row_errors(number, result, key=spec.key))
            actions[number] = INVALID if isinstance(result, ValidationError) else UPDATED
        if updates:
            advance(len(updates))
    created = None
    if creations:
        try:
            created = spec.create_many(actor=actor, values=[values for _n, values in creations])
        except ValidationError as exc:
            # Refused as a whole: the licences are counted for all the new rows of the file.
            outcome.errors.extend(_row_errors(None, exc, key=spec.key))
            created = [None] * len(creations)
    if created is None:
        for number, values in creations:
            actions[number] = _apply_row(
                outcome, number, spec.key, lambda v=values: spec.create(actor=actor, values=v), NEW
            )
            advance()
    else:
        for (number, _values), result in zip(creations, created, strict=True):
            if isinstance(result, ValidationError):
                outcome.errors.extend(_row_errors(number, result, key=spec.key))
            actions[number] = INVALID if isinstance(result, ValidationError) else NEW
        if creations:
            advance(len(creations))
    outcome.plan = [actions[number] for number, _cells in table.rows]
    outcome.errors.sort(key=lambda e: (e["row"] is not None, e["row"] or 0))
    return outcome


def _apply_row(outcome: Outcome, number: int, key: str, write, done: str = UPDATED) -> str:
    """Run one row's service calls in a savepoint: a refused row leaves nothing behind."""
    try:
        with transaction.atomic():
            write()
    except ValidationError as exc:
        outcome.errors.extend(_row_errors(number, exc, key=key))
        return INVALID
    return done


def _execute(
    *,
    actor: Actor,
    spec: KindSpec,
    content: bytes,
    commit: bool,
    on_success=None,
    progress: Progress | None = None,
):
    """Run the file in one transaction; keep it only when ``commit`` and every row passed
    (and ``on_success(outcome)``, called inside the transaction, raised nothing)."""

    def attempt() -> Outcome:
        try:
            # A preview is rolled back whatever happens: a dry run (core.dry_run).
            with transaction.atomic(), nullcontext() if commit else dry_run():
                outcome = _run(actor=actor, spec=spec, content=content, progress=progress)
                if not commit or outcome.errors:
                    raise _Rollback(outcome)
                if on_success is not None:
                    on_success(outcome)
                return outcome
        except _Rollback as rollback:
            return rollback.outcome

    return run_atomic(attempt, label=f"bulk.import.{spec.kind}")


def _digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@transaction.atomic
def import_preview(
    *,
    actor: Actor,
    kind: str,
    content: bytes,
    file_name: str = "",
    progress: Progress | None = None,
    import_: Import | None = None,
) -> Import:
    """Check a file without writing anything and keep its preview for :func:`import_apply`.

    Raises ValidationError for a file that is no table of the kind's columns; errors of rows
    are in the answer's ``errors`` (row, column, the service's message). ``import_``: the
    queued upload of this file, claimed by ``bulk.import_preview`` (``Import.start``), which
    gets the preview instead of a new row.
    """
    spec = _spec(kind)
    outcome = _execute(actor=actor, spec=spec, content=content, commit=False, progress=progress)
    result = {
        "rows": outcome.rows,
        "totals": outcome.totals,
        "errors": outcome.errors,
        "plan": outcome.plan,
    }
    if import_ is not None:
        row = import_
        if not row.claimed or not row.finish(Import.Status.PREVIEWED, **result):
            raise ImportJobLost
    else:
        row = Import.objects.create(
            kind=kind,
            file_name=file_name[:255],
            file_sha256=_digest(content),
            content=base64.b64encode(content).decode("ascii"),
            created_by_id=actor.user_id if actor.kind != "system" else None,
            created_by_label=actor.label[:150],
            **result,
        )
    logger.info(
        "import.previewed import=%s kind=%s rows=%s errors=%s",
        row.pk,
        kind,
        outcome.rows,
        len(outcome.errors),
    )
    return row


def import_queue(
    *,
    actor: Actor,
    kind: str,
    content: bytes,
    rows: int,
    file_name: str = "",
    then_apply: bool = False,
) -> Import:
    """Keep a file of ``rows`` rows (``bulk.selectors.import_row_count``) for its preview by
    ``bulk.import_preview``, then (``then_apply``) its application if the preview has no
    errors. The file is kept encrypted like a preview's."""
    _spec(kind)
    row = Import.objects.create(
        kind=kind,
        status=Import.Status.QUEUED,
        job=Import.Job.PREVIEW,
        then_apply=then_apply,
        file_name=file_name[:255],
        file_sha256=_digest(content),
        content=base64.b64encode(content).decode("ascii"),
        rows=rows,
        totals=Outcome().totals,
        heartbeat_at=timezone.now(),
        created_by_id=actor.user_id if actor.kind != "system" else None,
        created_by_label=actor.label[:150],
    )
    logger.info("import.queued import=%s kind=%s rows=%s", row.pk, kind, rows)
    return row


def _refuse(row: Import, errors: list[dict[str, Any]]) -> Import:
    if not row.finish(Import.Status.REFUSED, errors=errors):
        raise ImportJobLost
    logger.info("import.refused import=%s errors=%s", row.pk, len(errors))
    return row


def import_apply(
    *,
    actor: Actor,
    import_: Import,
    content: bytes | None = None,
    progress: Progress | None = None,
) -> Import:
    """Apply a previewed import in one transaction, all or nothing.

    Refused (status ``refused``, with the errors) when the preview had errors, when
    ``content`` (the file sent again) is not the previewed file, or when running the file now
    fails a rule or would do something else than the preview showed (the data changed
    meanwhile). Nothing is written then. ``import_`` is a preview (locked here), or the
    running job claimed by ``bulk.import_apply`` (``Import.start``): its row is not locked,
    so that ``progress`` can record the rows done from another connection meanwhile.
    """
    with transaction.atomic():
        if import_.claimed:
            row = import_
        else:
            row = Import.objects.select_for_update().get(pk=import_.pk)
            refusal = row.apply_refusal()
            if refusal:
                raise ValidationError(refusal)
        if row.errors:
            return _refuse(
                row,
                [
                    {
                        "row": None,
                        "column": "",
                        "message": _(
                            "La vista previa tiene %(count)d errores: corrija el fichero y "
                            "súbalo de nuevo."
                        )
                        % {"count": len(row.errors)},
                    },
                    *row.errors,
                ],
            )
        stored = base64.b64decode(row.content)
        if content is not None and not row.matches(content):
            return _refuse(
                row,
                [
                    {
                        "row": None,
                        "column": "",
                        "message": _(
                            "El fichero no es el de la vista previa (SHA-256 %(sha)s): suba "
                            "el fichero de nuevo para ver su vista previa."
                        )
                        % {"sha": row.file_sha256[:12]},
                    }
                ],
            )
        spec = _spec(row.kind)

        def finish(outcome: Outcome) -> None:
            if outcome.plan != row.plan:
                changed = [
                    (index, before, after)
                    for index, (before, after) in enumerate(
                        zip(row.plan, outcome.plan, strict=False)
                    )
                    if before != after
                ]
                raise _PlanChanged(outcome, changed)
            if not row.finish(Import.Status.APPLIED, totals=outcome.totals):
                raise ImportJobLost
            audit_record(
                actor=actor,
                action="import.apply",
                instance=row,
                extra={"kind": row.kind, "file": row.file_name, "totals": outcome.totals},
            )

        try:
            outcome = _execute(
                actor=actor,
                spec=spec,
                content=stored,
                commit=True,
                on_success=finish,
                progress=progress,
            )
        except _PlanChanged as exc:
            table_rows = exc.outcome.rows
            return _refuse(
                row,
                [
                    {
                        "row": None,
                        "column": "",
                        "message": _(
                            "Los datos cambiaron desde la vista previa: %(count)d de %(rows)d "
                            "filas harían ahora otra cosa. Suba el fichero de nuevo."
                        )
                        % {"count": len(exc.changed), "rows": table_rows},
                    }
                ],
            )
        if outcome.errors:
            return _refuse(row, outcome.errors)
    logger.info("import.applied import=%s totals=%s", row.pk, row.totals)
    return row


class _PlanChanged(Exception):
    def __init__(self, outcome: Outcome, changed: list[tuple[int, str, str]]) -> None:
        self.outcome = outcome
        self.changed = changed


class ImportJobLost(Exception):
    """The job's row is no longer ``running`` for this worker (the sweep refused it as silent
    meanwhile): everything the job did is rolled back."""
