"""Imports run as jobs (bulk.tasks): a file of more than IMPORT_ASYNC_ROWS rows is queued,
claimed once and run with its progress; without a broker the task runs in the request, which
answers when it is done. Previews never applied expire. Run on SQLite and MariaDB with tasks
in-process; tests/bulk/test_import_worker.py runs them on a real worker."""

import dataclasses
import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from bulk.models import Import
from bulk.services import import_apply, import_preview
from bulk.tasks import (
    import_apply_request,
    import_apply_task,
    import_upload,
    jobs_sweep,
    previews_expire,
)
from core.models import AuditEntry
from core.roles import ROLE_ADMIN, ROLE_OPERATOR
from tests.factories import PortalUserFactory
from users.models import PortalUser

pytestmark = pytest.mark.django_db

COLUMNS = ["account", "name", "max_sessions"]
NOW = datetime.datetime(2026, 3, 2, 10, 0, tzinfo=datetime.UTC)


@pytest.fixture
def in_process(celery_mode, settings):
    """The embedded default (no broker: tasks run in the request); files of more than 3 rows
    are jobs."""
    celery_mode(eager=True)
    settings.IMPORT_ASYNC_ROWS = 3


@pytest.fixture
def users_csv(make_csv):
    """A users file: ``updated`` existing accounts renamed, then ``new`` new ones."""

    def _make(*, new: int, updated: int = 0, bad: bool = False) -> bytes:
        for i in range(updated):
            PortalUserFactory(account=f"viejo{i:03d}", name="Antes", max_sessions=1)
        rows = [[f"viejo{i:03d}", f"Después {i}", "1"] for i in range(updated)]
        rows += [[f"nuevo{i:03d}", f"Núñez {i}", "2"] for i in range(new)]
        if bad:
            rows.append(["malo", "M", "x"])
        return make_csv(COLUMNS, rows)

    return _make


def upload(content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("usuarios.csv", content, content_type="text/csv")


def test_the_services_report_the_rows_done_up_to_the_total(actor, users_csv, licences):
    content = users_csv(new=4, updated=3, bad=True)
    calls = []
    row = import_preview(
        actor=actor,
        kind="users",
        content=content,
        progress=lambda done, total: calls.append((done, total)),
    )
    # Every row counts once its outcome is known: the updates with their batch
    # (portal_user_update_many), then the new rows (the invalid one among them) with theirs.
    assert calls == [(3, 8), (8, 8)]
    assert row.errors and not PortalUser.objects.filter(account__startswith="nuevo").exists()

    content = users_csv(new=4)
    row = import_preview(actor=actor, kind="users", content=content)
    calls.clear()
    row = import_apply(
        actor=actor,
        import_=row,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert row.status == "applied" and calls[-1] == (4, 4)


def test_the_progress_writer_records_every_n_rows_and_the_last(actor, users_csv, licences):
    row = Import.objects.create(
        kind="users", file_sha256="0" * 64, status="running", job="preview", rows=7
    )
    write = row.progress_writer(connection, every=3)
    seen = []
    for done in range(1, 8):
        write(done, 7)
        seen.append(Import.objects.get(pk=row.pk).progress)
    assert seen == [0, 0, 3, 3, 3, 6, 7]
    # A job no longer running (refused by the sweep) is left alone.
    Import.objects.filter(pk=row.pk).update(status="refused")
    row.progress_writer(connection, every=1)(1, 7)
    assert Import.objects.get(pk=row.pk).progress == 7


def test_without_a_broker_a_long_file_runs_in_the_request(
    in_process, browser_for, users_csv, licences
):
    browser = browser_for(ROLE_ADMIN)
    content = users_csv(new=5, updated=2)
    answer = browser.post(
        "/importar-exportar/", {"kind": "users", "file": upload(content)}, follow=True
    )
    row = Import.objects.get()
    assert answer.redirect_chain[-1][0] == f"/importar-exportar/{row.pk}/"
    # The job ran in the request: the page shows the preview, no bar.
    assert row.status == "previewed" and row.job == "preview" and row.progress == 7
    assert row.totals == {"new": 5, "updated": 2, "unchanged": 0, "invalid": 0}
    page = answer.content.decode()
    assert 'id="import-preview"' in page and 'id="import-progress"' not in page
    assert PortalUser.objects.filter(name="Antes").count() == 2

    answer = browser.post(f"/importar-exportar/{row.pk}/aplicar/", follow=True)
    row.refresh_from_db()
    assert row.status == "applied" and row.job == "apply" and row.progress == 7
    assert row.content == "" and row.started_at is not None and row.heartbeat_at is None
    assert "Aplicada" in answer.content.decode()
    assert PortalUser.objects.filter(account__startswith="nuevo").count() == 5
    assert not PortalUser.objects.filter(name="Antes").exists()
    assert AuditEntry.objects.filter(action="import.apply", object_id=str(row.pk)).count() == 1


def test_api_dry_run_false_on_a_long_file_previews_then_applies(
    in_process, client_for, users_csv, licences
):
    api = client_for(ROLE_ADMIN)
    answer = api.post(
        "/api/v1/imports/",
        {"kind": "users", "file": upload(users_csv(new=5)), "dry_run": "false"},
        format="multipart",
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert (body["status"], body["job"], body["progress"], body["rows"]) == (
        "applied",
        "apply",
        5,
        5,
    )
    assert PortalUser.objects.count() == 5

    # With an error the file is refused as a whole, as a short one is.
    answer = api.post(
        "/api/v1/imports/",
        {"kind": "users", "file": upload(users_csv(new=4, bad=True)), "dry_run": "false"},
        format="multipart",
    )
    assert answer.status_code == 409 and answer.json()["status"] == "refused"
    assert [(e["row"], e["column"]) for e in answer.json()["errors"][1:]] == [(6, "max_sessions")]
    assert PortalUser.objects.count() == 5


def test_a_job_runs_once_however_often_it_is_asked(in_process, actor, users_csv, licences):
    content = users_csv(new=5)
    row = import_upload(actor=actor, kind="users", content=content, file_name="u.csv")
    assert row.status == "previewed"
    # The claim: a second "Importar" (double click) finds no preview any more.
    assert row.queue_apply() is True
    assert Import.objects.get(pk=row.pk).queue_apply() is False
    with pytest.raises(ValidationError, match="ya está en cola"):
        import_apply_request(actor=actor, import_=Import.objects.get(pk=row.pk))
    # The same message delivered twice: the second finds the job taken.
    actor_dict = dataclasses.asdict(actor)
    assert import_apply_task.delay(row.pk, actor_dict).get() == "applied"
    assert import_apply_task.delay(row.pk, actor_dict).get() == "skipped"
    assert Import.start(row.pk, "apply") is None
    assert PortalUser.objects.count() == 5
    assert AuditEntry.objects.filter(action="user.create").count() == 5
    assert AuditEntry.objects.filter(action="import.apply").count() == 1
    with pytest.raises(ValidationError, match="ya está aplicada"):
        import_apply_request(actor=actor, import_=Import.objects.get(pk=row.pk))


def test_a_file_without_its_key_column_refuses_the_job(in_process, actor, make_csv):
    content = make_csv(["name", "max_sessions"], [["A", "1"]] * 5)
    row = import_upload(actor=actor, kind="users", content=content)
    assert row.status == "refused" and row.content == ""
    assert row.errors == [
        {
            "row": None,
            "column": "",
            "message": "Falta la columna «account», que identifica cada fila.",
        }
    ]


def test_the_progress_part_follows_the_job_and_reloads_the_page_when_done(
    browser_for, actor, users_csv, licences
):
    row = Import.objects.create(
        kind="users", file_sha256="0" * 64, status="running", job="apply", rows=400, progress=100
    )
    browser = browser_for(ROLE_OPERATOR)
    page = browser.get(f"/importar-exportar/{row.pk}/").content.decode()
    assert 'id="import-progress"' in page and 'hx-trigger="every 1s"' in page
    assert "pct-25" in page and "100 de 400 filas" in page and "Importando" in page
    part = browser.get(f"/importar-exportar/{row.pk}/progreso/", headers={"HX-Request": "true"})
    assert part.status_code == 200 and "25 %" in part.content.decode()
    row.finish("applied", totals={"new": 400, "updated": 0, "unchanged": 0, "invalid": 0})
    done = browser.get(f"/importar-exportar/{row.pk}/progreso/", headers={"HX-Request": "true"})
    assert done.status_code == 204 and done["HX-Refresh"] == "true"
    # Outside htmx: the finished state, with nothing to poll.
    part = browser.get(f"/importar-exportar/{row.pk}/progreso/").content.decode()
    assert "100 %" in part and "hx-trigger" not in part and "Aplicada" in part


def test_a_silent_job_is_refused_by_the_sweep(settings, actor):
    settings.IMPORT_LEASE_SECONDS = 600
    with time_machine.travel(NOW, tick=False):
        silent = Import.objects.create(
            kind="users",
            file_sha256="0" * 64,
            status="running",
            job="apply",
            rows=900,
            heartbeat_at=timezone.now(),
        )
        queued = Import.objects.create(
            kind="users",
            file_sha256="0" * 64,
            status="queued",
            job="preview",
            content="eA==",
            heartbeat_at=timezone.now(),
        )
    with time_machine.travel(NOW + datetime.timedelta(seconds=590), tick=False):
        alive = Import.objects.create(
            kind="users",
            file_sha256="0" * 64,
            status="running",
            job="preview",
            heartbeat_at=timezone.now(),
        )
    with time_machine.travel(NOW + datetime.timedelta(seconds=601), tick=False):
        assert jobs_sweep() == 2
    silent.refresh_from_db(), queued.refresh_from_db(), alive.refresh_from_db()
    assert silent.status == queued.status == "refused" and alive.status == "running"
    assert queued.content == "" and silent.finished_at is not None
    assert "se interrumpió" in silent.errors[0]["message"]
    assert "No se ha escrito nada" in silent.errors[0]["message"]


def test_previews_never_applied_expire_and_are_then_refused(
    settings, actor, users_csv, client_for, browser_for, licences
):
    settings.IMPORT_PREVIEW_TTL_HOURS = 24
    settings.IMPORT_RETENTION_DAYS = 90
    content = users_csv(new=2)
    with time_machine.travel(NOW, tick=False):
        old = import_preview(actor=actor, kind="users", content=content)
        applied = import_apply(
            actor=actor, import_=import_preview(actor=actor, kind="users", content=content)
        )
    with time_machine.travel(NOW + datetime.timedelta(hours=23), tick=False):
        recent = import_preview(actor=actor, kind="users", content=content)
        assert previews_expire() == 0
    old.refresh_from_db()
    assert old.status == "previewed" and old.content

    with time_machine.travel(NOW + datetime.timedelta(hours=24, minutes=1), tick=False):
        assert previews_expire() == 1
    old.refresh_from_db(), recent.refresh_from_db()
    assert old.status == "expired" and old.content == "" and recent.status == "previewed"

    refused = client_for(ROLE_ADMIN).post(
        f"/api/v1/imports/{old.pk}/apply/", {}, format="multipart"
    )
    assert refused.status_code == 400
    assert f"La vista previa {old.pk} caducó: no se aplicó en 24 horas" in str(refused.json())
    page = browser_for(ROLE_ADMIN).get(f"/importar-exportar/{old.pk}/").content.decode()
    assert 'id="import-expired"' in page and "caducó" in page and 'id="import-apply"' not in page

    # After the retention, finished imports are deleted (the preview still pending is not).
    with time_machine.travel(NOW + datetime.timedelta(days=92), tick=False):
        previews_expire()
    # ``recent`` expired then; the others had finished long before.
    assert list(Import.objects.values_list("pk", "status")) == [(recent.pk, "expired")]
    assert applied.status == "applied"
