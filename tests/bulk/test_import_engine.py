"""The import engine (bulk.services): dry run, create-or-update, all-or-nothing apply, and
the export that imports back unchanged. Run on SQLite and MariaDB."""

import pytest
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bulk.models import Import
from bulk.selectors import export_file, export_queryset
from bulk.services import import_apply, import_preview
from core.models import AuditEntry
from extensions.models import Extension, ExtensionPool
from nodes.models import Push
from tests.factories import PhysicalExtensionFactory, PoolFactory, PortalUserFactory
from users.models import PortalUser

pytestmark = pytest.mark.django_db(transaction=False)

USER_COLUMNS = [
    "account",
    "name",
    "email",
    "validation",
    "second_factor",
    "webfon_extension",
    "pool",
    "max_sessions",
]


def counts():
    return (
        PortalUser.objects.count(),
        Extension.objects.count(),
        ExtensionPool.objects.count(),
        AuditEntry.objects.exclude(action__startswith="import.").count(),
        Push.objects.count(),
    )


@pytest.fixture
def users_file(corporate, webfon_numbers, make_csv, licences):
    """1,000 valid user rows (half with a fixed webfon extension, half on a pool) and seven
    invalid ones, each breaking another rule, at known rows and columns."""
    fixed = webfon_numbers(6_000_000, 510)
    base = webfon_numbers(6_900_000, 1)[0]
    pool = PoolFactory(name="Pool Ayuntamiento", base_extension=base)
    physical = PhysicalExtensionFactory(number="1234", node=corporate)
    rows = []
    for i in range(1000):
        account = f"vecino{i:04d}"
        if i % 2:
            rows.append(
                [account, f"Vecino {i}", "", "suite", "none", fixed[i // 2].number, "", "1"]
            )
        else:
            rows.append([account, f"Vecino {i}", "", "suite", "none", "", pool.name, "2"])
    # (position in the file's data rows, row, expected column, fixed row)
    bad = [
        (
            ["mal cuenta", "Con espacio", "", "suite", "none", "", pool.name, "1"],
            "account",
            ["malcuenta", "Con espacio", "", "suite", "none", "", pool.name, "1"],
        ),
        (
            ["v-validacion", "V", "", "kerberos", "none", "", pool.name, "1"],
            "validation",
            ["v-validacion", "V", "", "ldap", "none", "", pool.name, "1"],
        ),
        (
            ["v-email", "V", "", "suite", "email", "", pool.name, "1"],
            "email",
            ["v-email", "V", "v@example.com", "suite", "email", "", pool.name, "1"],
        ),
        (
            ["v-ambos", "V", "", "suite", "none", fixed[505].number, pool.name, "1"],
            "pool",
            ["v-ambos", "V", "", "suite", "none", fixed[505].number, "", "1"],
        ),
        (
            ["v-sinpool", "V", "", "suite", "none", "", "Pool inexistente", "1"],
            "pool",
            ["v-sinpool", "V", "", "suite", "none", "", pool.name, "1"],
        ),
        (
            ["v-fisica", "V", "", "suite", "none", physical.number, "", "1"],
            "webfon_extension",
            ["v-fisica", "V", "", "suite", "none", fixed[506].number, "", "1"],
        ),
        (
            ["v-sesiones", "V", "", "suite", "none", "", pool.name, "11"],
            "max_sessions",
            ["v-sesiones", "V", "", "suite", "none", "", pool.name, "10"],
        ),
    ]
    good, corrected, expected = list(rows), list(rows), []
    for index, (row, column, fixed_row) in enumerate(bad):
        at = 100 + index * 130  # spread through the file
        good.insert(at, row)
        corrected.insert(at, fixed_row)
        expected.append((at + 2, column))  # header is row 1, data starts at row 2
    return make_csv(USER_COLUMNS, good), make_csv(USER_COLUMNS, corrected), expected


def test_dry_run_reports_exactly_the_invalid_rows_and_writes_nothing(users_file, actor):
    bad, corrected, expected = users_file
    before = counts()
    preview = import_preview(actor=actor, kind="users", content=bad, file_name="vecinos.csv")
    assert counts() == before
    assert preview.status == Import.Status.PREVIEWED
    assert sorted((e["row"], e["column"]) for e in preview.errors) == sorted(expected)
    assert all(e["message"] for e in preview.errors)
    assert preview.totals == {"new": 1000, "updated": 0, "unchanged": 0, "invalid": 7}
    # The service's own Spanish messages, naming the value.
    messages = {e["column"]: e["message"] for e in preview.errors}
    assert "Pool inexistente" in messages["pool"] or "1234" in messages["webfon_extension"]
    assert "1234" in messages["webfon_extension"]

    refused = import_apply(actor=actor, import_=preview)
    assert refused.status == Import.Status.REFUSED
    assert counts() == before

    ok = import_preview(actor=actor, kind="users", content=corrected, file_name="vecinos.csv")
    assert ok.errors == []
    assert ok.totals == {"new": 1007, "updated": 0, "unchanged": 0, "invalid": 0}
    assert counts() == before
    applied = import_apply(actor=actor, import_=ok)
    assert applied.status == Import.Status.APPLIED
    assert PortalUser.objects.count() == before[0] + 1007
    assert PortalUser.objects.filter(webfon_extension__isnull=False).count() == 502
    # One audit entry per created row, besides the import's own.
    assert AuditEntry.objects.filter(action="user.create").count() == 1007
    assert AuditEntry.objects.filter(action="import.apply").count() == 1
    assert Import.objects.get(pk=ok.pk).content == ""  # passwords are not kept


def test_apply_commits_all_or_nothing_with_one_push_per_webrtc_node(
    make_csv, actor, make_webrtc_node, webfon_numbers, licences, django_capture_on_commit_callbacks
):
    nodes = [make_webrtc_node(name=f"meet{i}") for i in range(3)]
    base = webfon_numbers(6_100_000, 1)[0]
    PoolFactory(name="P", base_extension=base)
    content = make_csv(["account", "name", "pool"], [[f"u{i}", f"U {i}", "P"] for i in range(40)])
    preview = import_preview(actor=actor, kind="users", content=content)
    assert Push.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        import_apply(actor=actor, import_=preview)
    assert callbacks, "the pushes are sent after the commit"
    assert sorted(Push.objects.values_list("node_id", flat=True)) == sorted(n.pk for n in nodes)


def test_export_reimports_as_unchanged_in_both_formats(
    actor, corporate, webfon_numbers, licences, make_csv
):
    members = webfon_numbers(6_200_000, 6)
    pool = PoolFactory(name="Pool ñandú", base_extension=members[0], description="Años")
    Extension.objects.filter(pk__in=[m.pk for m in members[1:4]]).update(pool=pool)
    PortalUserFactory(account="peña", name="José Peñalver Muñoz", pool=pool, mobile="+34600000000")
    PortalUserFactory(account="ana", name="Ána", webfon_extension=members[5], login_number="991")
    owner = PortalUserFactory(account="otro", name="Ñoño", email="", max_sessions=3)
    PhysicalExtensionFactory(
        number="0100", node=corporate, owner=owner, site="Logroño", department="Compañía"
    )
    for kind in ("users", "extensions", "pools"):
        for fmt in ("csv", "xlsx"):
            data = export_file(kind=kind, queryset=export_queryset(kind), format=fmt)
            preview = import_preview(actor=actor, kind=kind, content=data)
            assert preview.errors == [], (kind, fmt)
            total = export_queryset(kind).count()
            assert preview.totals == {"new": 0, "updated": 0, "unchanged": total, "invalid": 0}, (
                kind,
                fmt,
            )


def test_export_never_holds_secrets_and_says_so(actor, corporate, licences):
    user = PortalUserFactory(account="secreta", name="S")
    from users.services import portal_user_set_password

    portal_user_set_password(actor=actor, user=user, password="Clave-Segura-2024")
    user.refresh_from_db()
    assert user.password
    extension = PhysicalExtensionFactory(number="0200", node=corporate)
    for kind, secret in (("users", user.password), ("extensions", extension.registration_secret)):
        for fmt in ("csv", "xlsx"):
            data = export_file(kind=kind, queryset=export_queryset(kind), format=fmt)
            assert secret.encode() not in data
            if fmt == "csv":
                note = data.decode("utf-8-sig").splitlines()[0]
                assert note.startswith("# ") and "nunca se exportan" in note


@pytest.mark.parametrize("fmt", ["csv-semicolon-bom", "csv-comma", "xlsx"])
def test_formats_import_the_same_data_with_accents(
    fmt, actor, make_csv, make_xlsx, corporate, licences
):
    columns = ["number", "kind", "node", "site", "department"]
    rows = [
        ["3001", "physical", corporate.name, "Logroño", "Compañía Ñ"],
        ["0302", "physical", corporate.name, "Cádiz; sur", "Dirección, 1ª"],
        ["3003", "physical", corporate.name, "Sede", "Señalización"],
    ]
    if fmt == "xlsx":
        content = make_xlsx(columns, rows)
    elif fmt == "csv-comma":
        content = make_csv(columns, rows)
    else:
        content = make_csv(columns, rows, delimiter=";", bom=True)
    preview = import_preview(actor=actor, kind="extensions", content=content)
    assert preview.errors == []
    import_apply(actor=actor, import_=preview)
    got = sorted(Extension.objects.values_list("number", "site", "department"))
    assert got == sorted((r[0], r[3], r[4]) for r in rows)
    # and the export of that data round-trips
    data = export_file(
        kind="extensions", queryset=export_queryset("extensions"), format=fmt.split("-")[0]
    )
    again = import_preview(actor=actor, kind="extensions", content=data)
    assert again.totals["unchanged"] == 3 and again.errors == []


def test_absent_column_untouched_empty_cell_clears_or_errors(
    actor, make_csv, licences, webfon_numbers
):
    pool = PoolFactory(name="P", base_extension=webfon_numbers(6_300_000, 1)[0])
    PortalUserFactory(
        account="a1", name="Uno", email="uno@example.com", mobile="600000001", pool=pool
    )
    PortalUserFactory(
        account="a2", name="Dos", email="dos@example.com", mobile="600000002", pool=pool
    )
    # Only account and name: every other field stays.
    preview = import_preview(
        actor=actor,
        kind="users",
        content=make_csv(["account", "name"], [["a1", "Uno bis"], ["a2", "Dos"]]),
    )
    assert preview.totals == {"new": 0, "updated": 1, "unchanged": 1, "invalid": 0}
    import_apply(actor=actor, import_=preview)
    a1 = PortalUser.objects.get(account="a1")
    assert (a1.name, a1.email, a1.mobile, a1.pool_id) == (
        "Uno bis",
        "uno@example.com",
        "600000001",
        pool.pk,
    )
    # An empty optional cell clears it; an empty required one is an error of that row/column.
    preview = import_preview(
        actor=actor,
        kind="users",
        content=make_csv(
            ["account", "name", "mobile"], [["a1", "Uno bis", ""], ["a2", "", "600000002"]]
        ),
    )
    assert [(e["row"], e["column"]) for e in preview.errors] == [(3, "name")]
    preview = import_preview(
        actor=actor, kind="users", content=make_csv(["account", "mobile"], [["a1", ""]])
    )
    import_apply(actor=actor, import_=preview)
    assert PortalUser.objects.get(account="a1").mobile == ""


def test_password_column_is_hashed_and_checked_by_the_policy(actor, make_csv, licences):
    PortalUserFactory(account="existe", name="E")
    content = make_csv(
        ["account", "name", "password"],
        [
            ["secreto-nuevo-1", "N", "Clave-Segura-2024"],
            ["existe", "E", "Otra-Clave-2024"],
            ["sin", "S", ""],
        ],
    )
    preview = import_preview(actor=actor, kind="users", content=content)
    assert preview.totals == {"new": 2, "updated": 1, "unchanged": 0, "invalid": 0}
    import_apply(actor=actor, import_=preview)
    nuevo, existe = (
        PortalUser.objects.get(account="secreto-nuevo-1"),
        PortalUser.objects.get(account="existe"),
    )
    assert check_password("Clave-Segura-2024", nuevo.password)
    assert check_password("Otra-Clave-2024", existe.password)
    assert "Clave-Segura-2024" not in nuevo.password
    assert PortalUser.objects.get(account="sin").password == ""
    # The policy is the service's: a short password is that row's error.
    preview = import_preview(
        actor=actor,
        kind="users",
        content=make_csv(["account", "name", "password"], [["x", "X", "a"]]),
    )
    assert [e["column"] for e in preview.errors] == ["password"]


def test_passwords_are_not_hashed_by_the_preview_and_are_hashed_in_a_batch(
    actor, make_csv, licences, recording_hasher
):
    """A file of passwords: the preview checks every one against the policy but hashes none
    (it is rolled back); applying hashes each once, new and existing users alike, in a number
    of queries that does not grow with the rows."""

    def run(size: int, start: int):
        for i in range(size):  # existing users, half of the file
            PortalUserFactory(account=f"e{start + i}", name="E")
        rows = [[f"e{start + i}", "E", f"Clave-Segura-{start + i}-ñ"] for i in range(size)]
        rows += [[f"n{start + i}", "N", f"Clave-Nueva-{start + i}-ñ"] for i in range(size)]
        content = make_csv(["account", "name", "password"], rows)
        recording_hasher.reset()
        preview = import_preview(actor=actor, kind="users", content=content)
        assert preview.errors == [] and recording_hasher.calls == 0
        assert preview.totals == {"new": size, "updated": size, "unchanged": 0, "invalid": 0}
        with CaptureQueriesContext(connection) as queries:
            import_apply(actor=actor, import_=preview)
        assert recording_hasher.calls == 2 * size
        for account, _name, password in rows:
            assert check_password(password, PortalUser.objects.get(account=account).password)
        return len(queries)

    assert run(3, 0) == run(12, 100)
    assert AuditEntry.objects.filter(action="user.set_password").count() == 3 + 12


def test_licence_check_counts_the_whole_file(actor, make_csv, corporate, set_stock):
    set_stock(5)
    PhysicalExtensionFactory(number="100", node=corporate)
    columns = ["number", "kind", "node", "site", "department"]
    four = make_csv(
        columns, [[str(200 + i), "physical", corporate.name, "S", "D"] for i in range(4)]
    )
    five = make_csv(
        columns, [[str(200 + i), "physical", corporate.name, "S", "D"] for i in range(5)]
    )
    assert import_preview(actor=actor, kind="extensions", content=four).errors == []
    preview = import_preview(actor=actor, kind="extensions", content=five)
    file_errors = [e for e in preview.errors if e["row"] is None]
    assert len(file_errors) == 1 and "hacen falta 5 y quedan 4" in file_errors[0]["message"]
    assert import_apply(actor=actor, import_=preview).status == Import.Status.REFUSED
    assert Extension.objects.count() == 1


def test_concurrent_change_between_preview_and_apply_is_refused(
    actor, make_csv, corporate, licences
):
    columns = ["number", "kind", "node", "site", "department"]
    content = make_csv(
        columns,
        [
            ["400", "physical", corporate.name, "S", "D"],
            ["401", "physical", corporate.name, "S", "D"],
        ],
    )
    preview = import_preview(actor=actor, kind="extensions", content=content)
    assert preview.totals["new"] == 2
    # Someone creates 401 as a webfon extension meanwhile: the row now fails a rule.
    from tests.factories import WebfonExtensionFactory

    WebfonExtensionFactory(number="401", node=corporate)
    refused = import_apply(actor=actor, import_=preview)
    assert refused.status == Import.Status.REFUSED
    assert not Extension.objects.filter(number="400").exists()
    # A change that breaks no rule but turns a "new" row into an update is refused too.
    content = make_csv(columns, [["500", "physical", corporate.name, "S", "D"]])
    preview = import_preview(actor=actor, kind="extensions", content=content)
    PhysicalExtensionFactory(number="500", node=corporate, site="Otra")
    refused = import_apply(actor=actor, import_=preview)
    assert refused.status == Import.Status.REFUSED
    assert "cambiaron" in refused.errors[0]["message"]
    assert Extension.objects.get(number="500").site == "Otra"


def test_a_different_file_at_apply_is_refused_and_an_import_applies_once(
    actor, make_csv, corporate, licences
):
    columns = ["number", "kind", "node", "site", "department"]
    content = make_csv(columns, [["600", "physical", corporate.name, "S", "D"]])
    preview = import_preview(actor=actor, kind="extensions", content=content)
    refused = import_apply(actor=actor, import_=preview, content=content.replace(b"600", b"601"))
    assert refused.status == Import.Status.REFUSED and "SHA-256" in refused.errors[0]["message"]
    preview = import_preview(actor=actor, kind="extensions", content=content)
    assert import_apply(actor=actor, import_=preview, content=content).status == "applied"
    with pytest.raises(ValidationError):
        import_apply(actor=actor, import_=preview)


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"", "vacío"),
        (b"account,colour\nx,y\n", "colour"),
        (b"account,account\nx,y\n", "account"),
        (b"name\nx\n", "account"),
        ("account\nPe\u00f1a\n".encode("latin-1"), "UTF-8"),
        (b"PK\x03\x04garbage", "XLSX"),
    ],
)
def test_unreadable_files_are_refused_naming_the_problem(actor, content, needle):
    with pytest.raises(ValidationError) as exc:
        import_preview(actor=actor, kind="users", content=content)
    assert needle in " ".join(exc.value.messages)


def test_pools_import_members_and_update_them(actor, make_csv, webfon_numbers, licences):
    ext = webfon_numbers(6_400_000, 5)
    content = make_csv(
        ["name", "base_extension", "members"],
        [["Nuevo", ext[0].number, f"{ext[1].number} {ext[2].number}"]],
    )
    import_apply(actor=actor, import_=import_preview(actor=actor, kind="pools", content=content))
    pool = ExtensionPool.objects.get(name="Nuevo")
    assert sorted(pool.members.values_list("number", flat=True)) == [ext[1].number, ext[2].number]
    content = make_csv(["name", "members"], [["Nuevo", f"{ext[3].number} {ext[2].number}"]])
    preview = import_preview(actor=actor, kind="pools", content=content)
    assert preview.totals["updated"] == 1
    import_apply(actor=actor, import_=preview)
    assert sorted(pool.members.values_list("number", flat=True)) == [ext[2].number, ext[3].number]
    bad = make_csv(["name", "members"], [["Nuevo", "999999"]])
    preview = import_preview(actor=actor, kind="pools", content=bad)
    assert [(e["row"], e["column"]) for e in preview.errors] == [(2, "members")]


def test_a_registration_secret_equal_to_the_stored_one_is_no_change(
    actor, make_csv, corporate, licences
):
    same = PhysicalExtensionFactory(
        number="4501", node=corporate, registration_secret="secreto-igual-1"
    )
    other = PhysicalExtensionFactory(
        number="4502", node=corporate, registration_secret="secreto-viejo-1"
    )
    preview = import_preview(
        actor=actor,
        kind="extensions",
        content=make_csv(
            ["number", "registration_secret"],
            [["4501", "secreto-igual-1"], ["4502", "secreto-nuevo-1"], ["4503", ""]],
        ),
    )
    assert preview.plan == ["unchanged", "updated", "invalid"], preview.errors  # 4503: no kind
    preview = import_preview(
        actor=actor,
        kind="extensions",
        content=make_csv(
            ["number", "registration_secret"],
            [["4501", "secreto-igual-1"], ["4502", "secreto-nuevo-1"]],
        ),
    )
    import_apply(actor=actor, import_=preview)
    assert Extension.objects.get(pk=other.pk).registration_secret == "secreto-nuevo-1"
    assert Extension.objects.get(pk=same.pk).registration_secret == "secreto-igual-1"
