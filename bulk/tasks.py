"""Imports run as Celery jobs, and the beat's housekeeping of imports.

A file of more than ``IMPORT_ASYNC_ROWS`` rows is previewed and applied by a worker while the
page (and the API's ``GET /api/v1/imports/{id}/``) follows the rows done; a smaller one runs
in the request, as the services do it. The page and the API call :func:`import_upload` and
:func:`import_apply_request`, which decide.

A job is the ``Import`` row itself: *queued* (its task sent once the row is committed), then
claimed by the task (``Import.start``: queued → running, one conditional UPDATE, so a message
delivered twice or a double click runs it once), run by the service with a ``progress``
callback that writes the rows done through a connection of its own (the job's transaction
holds the data until its commit), and finished by the service inside that transaction. A
worker that dies leaves a silent job, which ``bulk.jobs_sweep`` refuses after
``IMPORT_LEASE_SECONDS``; its transaction died with it, so nothing was written. In the
embedded default (no broker) the task runs in the request, which returns when it is done.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from contextlib import nullcontext
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bulk import services
from bulk.models import Import
from bulk.selectors import import_file, import_row_count
from core.actors import Actor
from core.transactions import side_connection

logger = logging.getLogger("bulk")


def import_upload(
    *, actor: Actor, kind: str, content: bytes, file_name: str = "", apply: bool = False
) -> Import:
    """An uploaded file: its preview (and with ``apply`` its application, refused when the
    preview has errors), here for a file of up to ``IMPORT_ASYNC_ROWS`` rows, otherwise
    queued for ``bulk.import_preview`` (the row returned is then *queued*, or finished in the
    embedded default). Raises ValidationError for a file that is no table of the kind."""
    rows = import_row_count(kind=kind, content=content)
    if rows <= settings.IMPORT_ASYNC_ROWS:
        row = services.import_preview(actor=actor, kind=kind, content=content, file_name=file_name)
        if apply:
            row = services.import_apply(actor=actor, import_=row, content=content)
        return row
    with transaction.atomic():
        row = services.import_queue(
            actor=actor,
            kind=kind,
            content=content,
            rows=rows,
            file_name=file_name,
            then_apply=apply,
        )
        _dispatch(import_preview_task, row, actor)
    row.refresh_from_db()
    return row


def import_apply_request(*, actor: Actor, import_: Import, content: bytes | None = None) -> Import:
    """*Importar*: a preview of up to ``IMPORT_ASYNC_ROWS`` rows is applied here; a longer one
    is queued for ``bulk.import_apply``. One whose preview had errors, or whose ``content``
    (the file sent again) is another file, is refused here at once. Raises ValidationError
    when it is no preview (any more): the second click of a double click."""
    quick = (
        import_.rows <= settings.IMPORT_ASYNC_ROWS
        or import_.errors
        or (content is not None and not import_.matches(content))
    )
    if quick:
        return services.import_apply(actor=actor, import_=import_, content=content)
    with transaction.atomic():
        if not import_.queue_apply():
            import_.refresh_from_db()
            raise ValidationError(import_.apply_refusal())
        _dispatch(import_apply_task, import_, actor)
    import_.refresh_from_db()
    return import_


def _dispatch(task, row: Import, actor: Actor) -> None:
    """Send ``task`` for ``row`` once the transaction that queued it commits (a worker reads
    the row). Without a broker the task runs here at once, in this transaction: it is the
    request's own work. A broker that does not answer refuses the import at once."""
    if task.app.conf.task_always_eager:
        task.delay(row.pk, dataclasses.asdict(actor))
        return

    def send() -> None:
        try:
            task.delay(row.pk, dataclasses.asdict(actor))
        except Exception as exc:
            logger.warning("import.dispatch_failed import=%s error=%s", row.pk, type(exc).__name__)
            _refuse_job(
                row.pk,
                _(
                    "No se pudo encolar la importación (el broker de tareas no responde): no se "
                    "ha escrito nada. Inténtelo de nuevo."
                ),
            )

    transaction.on_commit(send)


def _refuse_job(pk: int, message: str) -> None:
    """Refuse the job of import ``pk`` unless it has finished meanwhile."""
    row = Import.objects.get(pk=pk)
    if row.is_active:
        row.finish(Import.Status.REFUSED, errors=[{"row": None, "column": "", "message": message}])


def _run_job(task, import_id: int, job: str, work: Callable[[Import, object], Import]) -> str:
    """Claim the ``job`` of import ``import_id`` and run ``work(row, progress)``; a failure
    refuses the import with its reason (nothing was written: the job's transaction rolled
    back). Returns the import's status, or "skipped" when the job was not ours to run."""
    row = Import.start(import_id, job)
    if row is None:
        logger.info("import.skipped import=%s job=%s", import_id, job)
        return "skipped"
    logger.info("import.started import=%s job=%s rows=%s", row.pk, job, row.rows)
    # In the request (embedded default) nobody follows the job meanwhile: no progress.
    with nullcontext() if task.request.is_eager else side_connection() as connection:
        progress = None
        if connection is not None:
            progress = row.progress_writer(connection, every=settings.IMPORT_PROGRESS_ROWS)
        try:
            row = work(row, progress)
        except services.ImportJobLost:
            logger.warning("import.lost import=%s job=%s", import_id, job)
            return "lost"
        except ValidationError as exc:
            # The file itself (a column missing): the preview's own refusal.
            _refuse_job(import_id, " ".join(exc.messages))
            return Import.Status.REFUSED
        except Exception:
            logger.exception("import.failed import=%s job=%s", import_id, job)
            _refuse_job(
                import_id,
                _(
                    "La importación falló por un error interno: no se ha escrito nada. Avise al "
                    "soporte con el número de importación %(id)d."
                )
                % {"id": import_id},
            )
            return Import.Status.REFUSED
    logger.info("import.finished import=%s job=%s status=%s", row.pk, job, row.status)
    return row.status


@shared_task(name="bulk.import_preview", bind=True, ignore_result=True)
def import_preview_task(self, import_id: int, actor: dict) -> str:
    """The preview of a queued upload; then, when it was asked (the API's ``dry_run=false``),
    its application (queued in the same transaction, so the import is never seen as a
    preview in between)."""
    who = Actor(**actor)

    def work(row: Import, progress) -> Import:
        with transaction.atomic():
            row = services.import_preview(
                actor=who,
                kind=row.kind,
                content=import_file(row),
                file_name=row.file_name,
                import_=row,
                progress=progress,
            )
            if row.then_apply:
                row = import_apply_request(actor=who, import_=row)
        return row

    return _run_job(self, import_id, Import.Job.PREVIEW, work)


@shared_task(name="bulk.import_apply", bind=True, ignore_result=True)
def import_apply_task(self, import_id: int, actor: dict) -> str:
    """The application of a preview queued by *Importar*: all or nothing."""
    who = Actor(**actor)

    def work(row: Import, progress) -> Import:
        return services.import_apply(actor=who, import_=row, progress=progress)

    return _run_job(self, import_id, Import.Job.APPLY, work)


@shared_task(name="bulk.jobs_sweep", ignore_result=True)
def jobs_sweep() -> int:
    """Refuse the imports whose job gave no sign of life for ``IMPORT_LEASE_SECONDS`` (their
    worker died, or their message was lost): they would otherwise show *running* forever."""
    lease = settings.IMPORT_LEASE_SECONDS
    refused = Import.refuse_silent(
        lease=timedelta(seconds=lease),
        message=_(
            "La importación se interrumpió: su trabajo no dio señales en %(seconds)d segundos "
            "(el proceso que la hacía se detuvo). No se ha escrito nada: suba el fichero de "
            "nuevo."
        )
        % {"seconds": lease},
    )
    for pk in refused:
        logger.warning("import.silent_refused import=%s", pk)
    return len(refused)


@shared_task(name="bulk.previews_expire", ignore_result=True)
def previews_expire() -> int:
    """Previews not applied within ``IMPORT_PREVIEW_TTL_HOURS`` lose their file, which can
    hold passwords (*expired*: applying one is refused); finished imports older than
    ``IMPORT_RETENTION_DAYS`` are deleted (their audit entries stay)."""
    now = timezone.now()
    expired = Import.expire_previews(
        before=now - timedelta(hours=settings.IMPORT_PREVIEW_TTL_HOURS)
    )
    deleted = Import.delete_finished(before=now - timedelta(days=settings.IMPORT_RETENTION_DAYS))
    logger.info("import.previews_expired expired=%s deleted=%s", expired, deleted)
    return expired
