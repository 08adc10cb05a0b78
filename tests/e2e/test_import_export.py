"""General > Importar / exportar in Chromium: upload → preview with errors → corrected upload
→ Importar → export from the users list, with a screenshot at every step; and a long file on
a real worker (MariaDB pass): the progress bar, then the preview, then the result."""

import csv
import io

import pytest
from playwright.sync_api import expect

from extensions.models import Extension
from tests.factories import PortalUserFactory, WebfonExtensionFactory
from users.models import PortalUser

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

COLUMNS = ["account", "name", "email", "second_factor", "max_sessions"]


def csv_file(rows, columns=COLUMNS) -> dict:
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=";")
    writer.writerow(columns)
    writer.writerows(rows)
    return {
        "name": "usuarios.csv",
        "mimeType": "text/csv",
        "buffer": ("\ufeff" + out.getvalue()).encode(),
    }


def test_upload_preview_correct_apply_and_export(visit, staff, licences, tmp_path):
    staff("administrador", username="admin1")
    visit.login("admin1")
    page = visit.page
    page.emulate_media(reduced_motion="reduce")
    page.locator("#menu a.dropdown-toggle", has_text="General").click()
    with page.expect_navigation():
        page.locator("#menu .dropdown-menu.show").get_by_role(
            "link", name="Importar / exportar"
        ).click()
    visit.shot("import-page")
    expect(page.locator("#import-rules")).to_contain_text("Una columna que no está en el fichero")

    bad = [
        ["jperez", "José Pérez", "jperez@example.com", "none", "1"],
        ["mnunez", "María Núñez", "", "email", "1"],  # e-mail factor without e-mail
        ["lopez", "Ana López", "", "none", "99"],  # beyond the sessions limit
    ]
    page.select_option("#id_kind", "users")
    page.set_input_files("#id_file", files=[csv_file(bad)])
    with page.expect_navigation():
        page.get_by_role("button", name="Ver vista previa").click()
    visit.shot("preview-with-errors")
    errors = page.locator("#import-errors tbody tr")
    expect(errors).to_have_count(2)
    expect(page.locator("#import-errors")).to_contain_text("email")
    expect(page.locator("#import-errors")).to_contain_text("max_sessions")
    highlighted = page.locator("#import-preview td[data-error]")
    expect(highlighted).to_have_count(2)
    expect(page.locator("#import-apply")).to_have_count(0)
    assert not PortalUser.objects.exists()

    good = [
        ["jperez", "José Pérez", "jperez@example.com", "none", "1"],
        ["mnunez", "María Núñez", "mnunez@example.com", "email", "1"],
        ["lopez", "Ana López", "", "none", "9"],
    ]
    page.get_by_role("link", name="Subir otro fichero").click()
    page.wait_for_url("**/importar-exportar/")
    page.select_option("#id_kind", "users")
    page.set_input_files("#id_file", files=[csv_file(good)])
    with page.expect_navigation():
        page.get_by_role("button", name="Ver vista previa").click()
    visit.shot("preview-clean")
    expect(page.locator("[data-total=new]")).to_have_text("3")
    expect(page.locator("#import-errors")).to_have_count(0)
    with page.expect_navigation():
        page.locator("#import-apply").click()
    visit.shot("applied")
    expect(page.locator("main .alert-success")).to_contain_text("3 nuevas")
    expect(page.locator("#import-status")).to_have_text("Aplicada")
    assert sorted(PortalUser.objects.values_list("name", flat=True)) == [
        "Ana López",
        "José Pérez",
        "María Núñez",
    ]

    # Export from the users list, filtered: the file holds the filtered rows only.
    visit.goto("/usuarios/?q=N%C3%BA%C3%B1ez", "users-filtered")
    with page.expect_download() as download_info:
        page.locator("a[data-export=csv]").click()
    path = tmp_path / "export.csv"
    download_info.value.save_as(path)
    lines = path.read_bytes().decode("utf-8-sig").splitlines()
    assert lines[0].startswith("# ") and "password" in lines[0]
    assert [line.split(";")[0] for line in lines[2:]] == ["mnunez"]
    assert "María Núñez" in lines[2]
    assert not Extension.objects.exists()


@pytest.mark.broker
def test_a_long_file_shows_its_progress_then_the_preview_and_the_result(
    visit, staff, licences, worker, row_lock, settings
):
    """A file longer than IMPORT_ASYNC_ROWS on a real worker: the page shows the bar while
    the preview waits for a worker, then the preview table; after *Importar*, the bar while the
    worker applies (held at a new user's locked fixed extension: the updates done), then the
    result."""
    settings.IMPORT_ASYNC_ROWS = 3
    for i in range(6):
        PortalUserFactory(account=f"vecino{i}", name="Sin nombre", max_sessions=1)
    fixed = [WebfonExtensionFactory(number=str(7_800_000 + i)) for i in range(2)]
    rows = [[f"vecino{i}", f"Vecino Núñez {i}", "", "none", "1", ""] for i in range(6)]
    rows += [
        ["nuevo1", "Ana Peña", "", "none", "2", fixed[0].number],
        ["nuevo2", "Íñigo", "", "none", "2", fixed[1].number],
    ]
    staff("administrador", username="admin1")
    visit.login("admin1")
    page = visit.page
    page.emulate_media(reduced_motion="reduce")
    visit.goto("/importar-exportar/", "import-page")
    page.select_option("#id_kind", "users")
    page.set_input_files("#id_file", files=[csv_file(rows, [*COLUMNS, "webfon_extension"])])
    with page.expect_navigation():
        page.get_by_role("button", name="Ver vista previa").click()
    # No worker yet: the preview waits in the queue, the page shows its bar.
    expect(page.locator("#import-status")).to_have_text("En cola")
    expect(page.locator("#import-progress-label")).to_contain_text("espera a un trabajador")
    expect(page.locator("#import-progress-rows")).to_have_text("0 de 8 filas hechas.")
    visit.shot("preview-queued")

    worker(env={"IMPORT_PROGRESS_ROWS": "1"})
    # The bar's polling reloads the page once the worker is done: the preview table.
    expect(page.locator("#import-preview")).to_be_visible(timeout=90_000)
    expect(page.locator("#import-status")).to_have_text("Vista previa")
    expect(page.locator("[data-total=updated]")).to_have_text("6")
    expect(page.locator("[data-total=new]")).to_have_text("2")
    visit.shot("preview-done")

    row_lock(fixed[0])  # the new users' batch waits here, after the updates' batch
    with page.expect_navigation():
        page.locator("#import-apply").click()
    expect(page.locator("#import-progress-rows")).to_have_text(
        "6 de 8 filas hechas.", timeout=90_000
    )
    expect(page.locator("#import-progress-label")).to_contain_text("Importando")
    expect(page.locator("#import-progress .progress-bar")).to_have_text("75 %")
    visit.shot("apply-running")
    assert PortalUser.objects.filter(name="Sin nombre").count() == 6  # nothing committed yet

    row_lock.release()
    expect(page.locator("#import-status")).to_have_text("Aplicada", timeout=90_000)
    expect(page.locator("#import-progress")).to_have_count(0)
    expect(page.locator("[data-total=updated]")).to_have_text("6")
    visit.shot("applied")
    assert not PortalUser.objects.filter(name="Sin nombre").exists()
    assert PortalUser.objects.filter(account__startswith="nuevo").count() == 2
