"""An import: the file an administrator uploaded, its preview and what became of it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models.sql import UpdateQuery
from django.db.models.sql.constants import ROW_COUNT
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.fields import EncryptedTextField

STATUSES = ["queued", "running", "previewed", "applied", "refused", "expired"]


class Import(models.Model):
    """One uploaded file of users, extensions or pools.

    The preview (dry run) is stored with the file's SHA-256 and the outcome it planned for
    every row; applying it runs the file again in one transaction and is refused when the
    file or the outcome differs from the preview. The file is kept encrypted (a ``password``
    column holds passwords in clear) and dropped once the import is applied, refused or
    expired (a preview never applied, after ``IMPORT_PREVIEW_TTL_HOURS``).

    A file longer than ``IMPORT_ASYNC_ROWS`` rows is previewed and applied by a Celery task
    (``bulk.tasks``): the row is *queued*, then *running* while a worker holds it, with the
    rows done in ``progress``. The state changes are the methods below, each one conditional
    UPDATE of this row, so two workers (or a double click) never run the same job twice.
    """

    class Kind(models.TextChoices):
        USERS = "users", _("Usuarios")
        EXTENSIONS = "extensions", _("Extensiones")
        POOLS = "pools", _("Pools de extensiones")

    class Status(models.TextChoices):
        QUEUED = "queued", _("En cola")
        RUNNING = "running", _("En curso")
        PREVIEWED = "previewed", _("Vista previa")
        APPLIED = "applied", _("Aplicada")
        REFUSED = "refused", _("Rechazada")
        EXPIRED = "expired", _("Caducada")

    class Job(models.TextChoices):
        PREVIEW = "preview", _("Vista previa")
        APPLY = "apply", _("Aplicación")

    # A job waits for a worker or runs: the page follows it live.
    ACTIVE = ("queued", "running")
    # Nothing more happens to it; its file is gone.
    FINISHED = ("applied", "refused", "expired")

    kind = models.CharField(_("tipo"), max_length=16, choices=Kind.choices)
    status = models.CharField(
        _("estado"), max_length=16, choices=Status.choices, default=Status.PREVIEWED
    )
    file_name = models.CharField(_("fichero"), max_length=255, blank=True)
    file_sha256 = models.CharField(_("SHA-256 del fichero"), max_length=64)
    # base64 of the file, encrypted at rest; "" once the import is applied or refused.
    content = EncryptedTextField(_("contenido"), blank=True, editable=False)
    rows = models.PositiveIntegerField(_("filas"), default=0)
    # The last job asked for (what "queued"/"running" are about), and the rows it has done.
    job = models.CharField(_("trabajo"), max_length=8, choices=Job.choices, default=Job.PREVIEW)
    progress = models.PositiveIntegerField(_("filas hechas"), default=0)
    # The API's dry_run=false on a queued file: apply once the preview has no errors.
    then_apply = models.BooleanField(_("aplicar tras la vista previa"), default=False)
    started_at = models.DateTimeField(_("iniciada"), null=True, blank=True)
    # The last sign of life of a queued or running job (queued, started, progress written):
    # one silent for IMPORT_LEASE_SECONDS belonged to a worker that died (bulk.jobs_sweep).
    heartbeat_at = models.DateTimeField(_("última señal"), null=True, blank=True)
    totals = models.JSONField(_("totales"), default=dict, blank=True)
    errors = models.JSONField(_("errores"), default=list, blank=True)
    # What the preview planned for each row ("new", "updated", "unchanged", "invalid").
    plan = models.JSONField(_("plan"), default=list, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("creada por"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_by_label = models.CharField(_("autor"), max_length=150, blank=True)
    created_at = models.DateTimeField(_("creada"), auto_now_add=True)
    finished_at = models.DateTimeField(_("terminada"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("importación")
        verbose_name_plural = _("importaciones")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["users", "extensions", "pools"]),
                name="import_kind_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=STATUSES),
                name="import_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(job__in=["preview", "apply"]), name="import_job_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.file_name} ({self.get_status_display()})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def percent(self) -> int:
        """Per cent of the rows the job has done (100 once finished)."""
        if not self.is_active:
            return 100
        return min(100, self.progress * 100 // self.rows) if self.rows else 0

    def matches(self, content: bytes) -> bool:
        """``content`` is the file this import was made of."""
        return hashlib.sha256(content).hexdigest() == self.file_sha256

    def apply_refusal(self) -> str:
        """Why this import cannot be applied now ("" when it can: a preview not yet used)."""
        if self.status == self.Status.PREVIEWED:
            return ""
        if self.status == self.Status.EXPIRED:
            return gettext(
                "La vista previa %(id)d caducó: no se aplicó en %(hours)d horas y su fichero se "
                "ha borrado. Suba el fichero de nuevo."
            ) % {"id": self.pk, "hours": settings.IMPORT_PREVIEW_TTL_HOURS}
        if self.is_active:
            return gettext("La importación %(id)d ya está %(status)s: espere a que termine.") % {
                "id": self.pk,
                "status": self.get_status_display().lower(),
            }
        return gettext("La importación %(id)d ya está %(status)s: suba el fichero de nuevo.") % {
            "id": self.pk,
            "status": self.get_status_display().lower(),
        }

    # --- state changes ------------------------------------------------------------------------
    # Each is one conditional UPDATE of this row (never a save() of the whole row: the page
    # that follows a job live reads it meanwhile), true when it took place.

    def _move(self, expected: str, **fields) -> bool:
        done = Import.objects.filter(pk=self.pk, status=expected).update(**fields) == 1
        if done:
            for name, value in fields.items():
                setattr(self, name, value)
        return done

    def queue_apply(self) -> bool:
        """A preview without errors waits for ``bulk.import_apply`` (false: it is not a
        preview any more, e.g. the second click of a double click)."""
        if self.errors:
            return False
        return self._move(
            self.Status.PREVIEWED,
            status=self.Status.QUEUED,
            job=self.Job.APPLY,
            progress=0,
            heartbeat_at=timezone.now(),
        )

    @classmethod
    def start(cls, pk: int, job: str) -> Import | None:
        """Claim the queued ``job`` of import ``pk`` for this worker: running now. None when it
        is not queued (another worker took it, it was refused meanwhile, a message sent
        twice). The row returned is the claim: only its holder finishes the job."""
        now = timezone.now()
        claimed = cls.objects.filter(pk=pk, status=cls.Status.QUEUED, job=job).update(
            status=cls.Status.RUNNING, started_at=now, heartbeat_at=now, progress=0
        )
        if not claimed:
            return None
        row = cls.objects.get(pk=pk)
        row._claimed = True
        return row

    @property
    def claimed(self) -> bool:
        """This object is the claim of a running job (returned by :meth:`start`)."""
        return getattr(self, "_claimed", False) and self.status == self.Status.RUNNING

    def finish(self, status: str, **fields) -> bool:
        """The job (or a preview applied in the request) ended with ``status``; false when the
        row is no longer in the state this object read (the sweep refused a silent job)."""
        now = timezone.now()
        fields.update(status=status, heartbeat_at=None)
        if status in self.FINISHED:
            fields.update(content="", finished_at=now)
        if status in (self.Status.PREVIEWED, self.Status.APPLIED):
            fields["progress"] = fields.get("rows", self.rows)
        return self._move(self.status, **fields)

    def progress_writer(self, connection, *, every: int) -> Callable[[int, int], None]:
        """The ``progress`` callback of the services for this running job: every ``every``
        rows (and at the last) one conditional UPDATE through ``connection``, a connection of
        its own outside the job's transaction, so that the page reads the rows done live."""
        last = [0]

        def write(done: int, total: int) -> None:
            if done - last[0] < every and done < total:
                return
            last[0] = done
            query = Import.objects.filter(pk=self.pk, status=self.Status.RUNNING).query.chain(
                UpdateQuery
            )
            query.add_update_values({"progress": done, "heartbeat_at": timezone.now()})
            query.get_compiler(connection=connection).execute_sql(ROW_COUNT)

        return write

    @classmethod
    def refuse_silent(cls, *, lease: timedelta, message: str) -> list[int]:
        """Refuse the jobs silent for longer than ``lease`` (their worker died, or the message
        was lost): nothing was written (a dead worker's transaction is rolled back)."""
        now = timezone.now()
        silent = cls.objects.filter(status__in=cls.ACTIVE, heartbeat_at__lt=now - lease)
        refused = []
        for row in silent.only("pk", "status"):
            error = {"row": None, "column": "", "message": message}
            if row.finish(cls.Status.REFUSED, errors=[error]):
                refused.append(row.pk)
        return refused

    @classmethod
    def expire_previews(cls, *, before: datetime) -> int:
        """Previews made before ``before`` and never applied lose their file (it can hold
        passwords) and are *expired*: applying one is refused."""
        return cls.objects.filter(status=cls.Status.PREVIEWED, created_at__lt=before).update(
            status=cls.Status.EXPIRED, content="", finished_at=timezone.now()
        )

    @classmethod
    def delete_finished(cls, *, before: datetime) -> int:
        """Imports finished (applied, refused, expired) before ``before`` are deleted; their
        audit entries stay."""
        deleted, _by_model = cls.objects.filter(
            status__in=cls.FINISHED, finished_at__lt=before
        ).delete()
        return deleted
