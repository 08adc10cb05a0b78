"""Imports run by a real Celery worker on the Redis broker and MariaDB: the API answers 202,
the import's progress is read live while the worker holds it, a job is run once however
often it is sent, and a worker killed mid-import leaves nothing written and an import the
beat's sweep refuses.

To see a job half done without timing anything, the test holds a lock on the fixed extension
of one of the file's new users (from a connection of its own, as another writer would): the
worker stops there, its batch of updates done and recorded, until the test lets go.
"""

import dataclasses
import datetime

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from bulk.models import Import
from bulk.tasks import import_apply_task, jobs_sweep
from core.actors import Actor
from core.models import AuditEntry
from core.roles import ROLE_ADMIN
from extensions.models import Extension
from tests.celery_worker import wait_for
from tests.factories import PortalUserFactory, WebfonExtensionFactory
from users.models import PortalUser

pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


FIRST_FIXED = 7_700_000


@pytest.fixture
def long_file(make_csv, settings, licences):
    """``updated`` existing users renamed then ``new`` new ones with a fixed webfon extension
    each (numbers from FIRST_FIXED), a file longer than IMPORT_ASYNC_ROWS (so a job)."""
    settings.IMPORT_ASYNC_ROWS = 20

    def _make(*, updated: int, new: int = 0) -> SimpleUploadedFile:
        for i in range(updated):
            PortalUserFactory(account=f"viejo{i:03d}", name="Antes", max_sessions=1)
        for i in range(new):
            WebfonExtensionFactory(number=str(FIRST_FIXED + i))
        rows = [[f"viejo{i:03d}", f"Después {i}", "1", ""] for i in range(updated)]
        rows += [[f"nuevo{i:03d}", f"Núñez {i}", "2", str(FIRST_FIXED + i)] for i in range(new)]
        content = make_csv(["account", "name", "max_sessions", "webfon_extension"], rows)
        return SimpleUploadedFile("usuarios.csv", content, content_type="text/csv")

    return _make


def lock_a_new_users_extension(row_lock) -> None:
    """The new users' batch locks their fixed extensions: it waits at this one, the updates
    (a batch before it) done."""
    row_lock(Extension.objects.get(number=str(FIRST_FIXED)))


def poll(api, pk: int, what: str, until) -> dict:
    """GET the import until ``until(body)`` holds, as a client of the API would."""

    def ready():
        body = api.get(f"/api/v1/imports/{pk}/").json()
        return body if until(body) else None

    return wait_for(ready, what=what)


def test_api_202_live_progress_and_one_run_per_job(worker, client_for, long_file, row_lock):
    api = client_for(ROLE_ADMIN)
    upload = long_file(updated=150, new=50)
    started = worker(env={"IMPORT_PROGRESS_ROWS": "10"})
    answer = api.post("/api/v1/imports/", {"kind": "users", "file": upload}, format="multipart")
    assert answer.status_code == 202, answer.content
    body = answer.json()
    assert (body["status"], body["job"], body["rows"], body["progress"]) == (
        "queued",
        "preview",
        200,
        0,
    )
    pk = body["id"]
    body = poll(api, pk, "the preview", lambda b: b["status"] == "previewed")
    assert body["totals"] == {"new": 50, "updated": 150, "unchanged": 0, "invalid": 0}
    assert body["progress"] == 200 and body["errors"] == []
    assert not PortalUser.objects.filter(account__startswith="nuevo").exists()

    lock_a_new_users_extension(row_lock)
    answer = api.post(f"/api/v1/imports/{pk}/apply/", {}, format="multipart")
    assert answer.status_code == 202 and answer.json()["status"] == "queued"
    # The same job sent once more (a message delivered twice): the worker's second slot
    # finds it claimed.
    import_apply_task.delay(pk, dataclasses.asdict(Actor.system("tests")))
    body = poll(api, pk, "the apply to wait at the locked row", lambda b: b["progress"] == 150)
    assert body["status"] == "running" and body["job"] == "apply"
    # A second "Importar" meanwhile is refused; nothing is written before the commit.
    again = api.post(f"/api/v1/imports/{pk}/apply/", {}, format="multipart")
    assert again.status_code == 400 and "ya está en curso" in str(again.json())
    assert not PortalUser.objects.filter(account__startswith="nuevo").exists()
    wait_for(lambda: f"import.skipped import={pk} job=apply" in started.text(), what="skip")

    row_lock.release()
    body = poll(api, pk, "the apply", lambda b: b["status"] == "applied")
    assert body["progress"] == 200 and body["totals"]["updated"] == 150
    assert PortalUser.objects.filter(account__startswith="nuevo").count() == 50
    assert not PortalUser.objects.filter(name="Antes").exists()
    assert AuditEntry.objects.filter(action="user.update").count() == 150
    assert AuditEntry.objects.filter(action="import.apply", object_id=str(pk)).count() == 1


def test_a_worker_killed_mid_import_leaves_nothing_and_the_sweep_refuses_it(
    worker, client_for, long_file, row_lock, settings
):
    api = client_for(ROLE_ADMIN)
    upload = long_file(updated=40, new=5)
    started = worker(env={"IMPORT_PROGRESS_ROWS": "5"})
    pk = api.post("/api/v1/imports/", {"kind": "users", "file": upload}, format="multipart")
    pk = pk.json()["id"]
    poll(api, pk, "the preview", lambda b: b["status"] == "previewed")
    lock_a_new_users_extension(row_lock)
    assert api.post(f"/api/v1/imports/{pk}/apply/", {}, format="multipart").status_code == 202
    poll(api, pk, "the apply to wait at the locked row", lambda b: b["progress"] == 40)
    started.kill()
    row_lock.release()
    # Its transaction died with it: the 40 rows it had updated are not there.
    assert PortalUser.objects.filter(name="Antes").count() == 40
    assert Import.objects.get(pk=pk).status == "running"

    settings.IMPORT_LEASE_SECONDS = 600
    jobs_sweep()  # what celery beat does every minute: the lease has not passed yet
    assert Import.objects.get(pk=pk).status == "running"
    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=601)):
        assert jobs_sweep() == 1
    row = Import.objects.get(pk=pk)
    assert row.status == "refused" and row.content == ""
    assert "se interrumpió" in row.errors[0]["message"]
    assert PortalUser.objects.filter(name="Antes").count() == 40
