"""The API of imports and exports, the roles, and the management commands."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from core.roles import ROLE_ADMIN, ROLE_OPERATOR, ROLE_SALES
from extensions.models import Extension
from tests.factories import PhysicalExtensionFactory, PortalUserFactory
from users.models import PortalUser

pytestmark = pytest.mark.django_db


def upload(content: bytes, name: str = "f.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")


def test_preview_then_apply_over_the_api(client_for, make_csv, licences):
    api = client_for(ROLE_ADMIN)
    content = make_csv(
        ["account", "name", "max_sessions"], [["ana", "Ana", "2"], ["bad", "B", "x"]]
    )
    answer = api.post(
        "/api/v1/imports/", {"kind": "users", "file": upload(content)}, format="multipart"
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["status"] == "previewed"
    assert body["totals"] == {"new": 1, "updated": 0, "unchanged": 0, "invalid": 1}
    assert [(e["row"], e["column"]) for e in body["errors"]] == [(3, "max_sessions")]
    assert not PortalUser.objects.exists()
    refused = api.post(f"/api/v1/imports/{body['id']}/apply/", {}, format="multipart")
    assert refused.status_code == 409 and refused.json()["status"] == "refused"

    content = make_csv(
        ["account", "name", "max_sessions"], [["ana", "Ana", "2"], ["bea", "B", "3"]]
    )
    body = api.post(
        "/api/v1/imports/", {"kind": "users", "file": upload(content)}, format="multipart"
    ).json()
    answer = api.post(
        f"/api/v1/imports/{body['id']}/apply/", {"file": upload(content)}, format="multipart"
    )
    assert answer.status_code == 200 and answer.json()["status"] == "applied"
    assert sorted(PortalUser.objects.values_list("account", "max_sessions")) == [
        ("ana", 2),
        ("bea", 3),
    ]
    # Applied once only.
    assert (
        api.post(f"/api/v1/imports/{body['id']}/apply/", {}, format="multipart").status_code == 400
    )


def test_dry_run_false_applies_at_once_or_refuses(client_for, make_csv, corporate, licences):
    api = client_for(ROLE_ADMIN)
    columns = ["number", "kind", "node", "site", "department"]
    good = make_csv(columns, [["700", "physical", corporate.name, "S", "D"]])
    answer = api.post(
        "/api/v1/imports/",
        {"kind": "extensions", "file": upload(good), "dry_run": "false"},
        format="multipart",
    )
    assert answer.status_code == 201 and answer.json()["status"] == "applied"
    bad = make_csv(columns, [["701", "physical", "no-such-node", "S", "D"]])
    answer = api.post(
        "/api/v1/imports/",
        {"kind": "extensions", "file": upload(bad), "dry_run": "false"},
        format="multipart",
    )
    assert answer.status_code == 409 and answer.json()["status"] == "refused"
    assert "node" in [e["column"] for e in answer.json()["errors"]]
    assert list(Extension.objects.values_list("number", flat=True)) == ["700"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "users"}, "file"),
        ({"kind": "phones", "file": b"account\nx\n"}, "kind"),
        ({"kind": "users", "file": b"colour\nred\n"}, None),
        ({"kind": "users", "file": b"\xff\xfe\x00a"}, None),
    ],
)
def test_bad_uploads_are_400_naming_the_problem(client_for, data, field):
    api = client_for(ROLE_ADMIN)
    if "file" in data:
        data = {**data, "file": upload(data["file"])}
    answer = api.post("/api/v1/imports/", data, format="multipart")
    assert answer.status_code == 400, answer.content
    if field:
        assert field in answer.json()


def test_roles_administrador_imports_operador_exports(client_for, make_csv):
    content = make_csv(["account", "name"], [["x", "X"]])
    for role, code in ((ROLE_OPERATOR, 403), (ROLE_SALES, 403)):
        api = client_for(role)
        answer = api.post(
            "/api/v1/imports/", {"kind": "users", "file": upload(content)}, format="multipart"
        )
        assert answer.status_code == code
    assert client_for(ROLE_OPERATOR).get("/api/v1/users/export/?format=csv").status_code == 200
    assert client_for(ROLE_SALES).get("/api/v1/users/export/?format=csv").status_code == 403


def test_export_honours_the_list_filters_and_formats(client_for, corporate, licences):
    api = client_for(ROLE_OPERATOR)
    PhysicalExtensionFactory(number="800", node=corporate, site="Norte")
    PhysicalExtensionFactory(number="801", node=corporate, site="Sur")
    PhysicalExtensionFactory(number="802", node=corporate, site="Norte")
    answer = api.get("/api/v1/extensions/export/?format=csv&site=Norte")
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/csv")
    lines = answer.content.decode("utf-8-sig").splitlines()
    assert lines[1].startswith("number;kind;node")
    assert [line.split(";")[0] for line in lines[2:]] == ["800", "802"]
    answer = api.get("/api/v1/extensions/export/?format=xlsx&search=801")
    sheet = load_workbook(io.BytesIO(answer.content)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert [r[0] for r in rows[2:]] == ["801"]
    PortalUserFactory(account="zeta", name="Z")
    PortalUserFactory(account="alfa", name="A")
    lines = api.get("/api/v1/users/export/?account=zeta").content.decode("utf-8-sig").splitlines()
    assert [line.split(";")[0] for line in lines[2:]] == ["zeta"]
    assert api.get("/api/v1/pools/export/?format=csv").status_code == 200
    answer = api.get("/api/v1/pools/export/?format=pdf")
    assert answer.status_code == 400 and "pdf" in answer.json()["format"][0]


def test_commands_import_and_export(tmp_path, make_csv, corporate, licences, capsys):
    path = tmp_path / "ext.csv"
    path.write_bytes(
        make_csv(
            ["number", "kind", "node", "site", "department"],
            [["900", "physical", corporate.name, "Sé", "Ñ"]],
        )
    )
    call_command("import_data", "extensions", str(path), "--dry-run")
    assert not Extension.objects.exists()
    call_command("import_data", "extensions", str(path))
    assert Extension.objects.get().site == "Sé"
    out = tmp_path / "out.xlsx"
    call_command("export_data", "extensions", str(out))
    call_command("import_data", "extensions", str(out), "--dry-run")
    assert "new 0, updated 0, unchanged 1" in capsys.readouterr().out
    path.write_bytes(
        make_csv(
            ["number", "kind", "node", "site", "department"],
            [["901", "physical", "nadie", "S", "D"]],
        )
    )
    with pytest.raises(CommandError):
        call_command("import_data", "extensions", str(path))
    assert "fila 2, columna node" in capsys.readouterr().err
