"""The multi-row INSERT and UPDATE of core.bulk (pool ranges, the batch services)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import bulk
from core.bulk import bulk_insert, bulk_insert_instances
from core.models import AuditEntry
from extensions.models import Extension
from nodes.models import Push
from tests.factories import NodeFactory, PoolFactory, PortalUserFactory, StaffUserFactory
from users.models import PortalUser

pytestmark = pytest.mark.django_db


def _shared(pool):
    base = pool.base_extension
    return {
        "kind": "webfon",
        "node": base.node,
        "template_id": base.template_id,
        "site": "Sede",
        "department": "Dpto",
        "pool": pool,
    }


def test_rows_saved_with_defaults_encrypted_secrets_and_cached_relations():
    pool = PoolFactory()
    created = bulk_insert(
        Extension, shared=_shared(pool), rows=[{"number": str(n)} for n in range(500, 510)]
    )
    assert [e.number for e in created] == [str(n) for n in range(500, 510)]
    assert all(e.pk for e in created)
    # One generated secret per row, stored encrypted (the field's get_db_prep_save).
    assert len({e.registration_secret for e in created}) == 10
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT registration_secret FROM extensions_extension WHERE id = %s", [created[0].pk]
        )
        (stored,) = cursor.fetchone()
    assert stored.startswith("g1$") and created[0].registration_secret not in stored
    assert Extension.objects.get(pk=created[0].pk).registration_secret == (
        created[0].registration_secret
    )
    with CaptureQueriesContext(connection) as captured:
        assert created[3].pool is pool and created[3].node == pool.base_extension.node
    assert not captured.captured_queries


def test_large_batches_are_split_under_the_statement_budget(monkeypatch):
    pool = PoolFactory()
    monkeypatch.setattr(bulk, "MAX_STATEMENT_CHARS", 2_000)
    with CaptureQueriesContext(connection) as captured:
        created = bulk_insert(
            Extension, shared=_shared(pool), rows=[{"number": str(n)} for n in range(600, 640)]
        )
    inserts = [q for q in captured.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) > 1
    assert max(len(q["sql"]) for q in inserts) < 4_000
    assert sorted(Extension.objects.filter(pool=pool).values_list("pk", flat=True)) == sorted(
        e.pk for e in created
    )


def test_unknown_fields_and_unsaved_relations_are_refused():
    pool = PoolFactory()
    with pytest.raises(TypeError):
        bulk_insert(Extension, shared={"colour": "red"}, rows=[{"number": "1"}])
    with pytest.raises(ValueError):
        bulk_insert(
            Extension, shared={**_shared(pool), "node": NodeFactory.build()}, rows=[{"number": "1"}]
        )
    with pytest.raises(ValueError):
        bulk_insert(Extension, shared=_shared(pool), rows=[{"number": "1"}, {"site": "x"}])
    assert bulk_insert(Extension, shared=_shared(pool), rows=[]) == []


def test_common_values_with_quotes_and_percent_signs_are_stored_as_given():
    pool = PoolFactory()
    site = "Sede 100% 'Norte' \\ %s %(x)s"
    created = bulk_insert(
        Extension,
        shared={**_shared(pool), "site": site, "department": "Dpto «ñ»"},
        rows=[{"number": "700"}, {"number": "701"}],
    )
    assert {e.site for e in created} == {site}
    stored = Extension.objects.filter(pk__in=[e.pk for e in created])
    assert set(stored.values_list("site", "department")) == {(site, "Dpto «ñ»")}


# --- pinned to Django's own path ---------------------------------------------------------------
# bulk_insert re-implements what bulk_create saves (for speed). These compare the two on the
# same rows, over models with every kind of field the portal stores: a Django upgrade that
# changes how a value is prepared or stored fails here.

AUTO_TIMESTAMPS = {"created_at", "updated_at", "requested_at"}


def _stored(model, pks, *, skip=()) -> list[dict]:
    """The rows as the database gives them back through the ORM (decrypted, JSON parsed), in
    ``pks`` order, without the primary key, the auto timestamps and ``skip``."""
    rows = {row["id"]: row for row in model.objects.filter(pk__in=pks).values()}
    return [
        {k: v for k, v in rows[pk].items() if k != "id" and k not in AUTO_TIMESTAMPS | set(skip)}
        for pk in pks
    ]


def _both_ways(model, *, shared, rows_a, rows_b, skip=()):
    """Save rows_a with bulk_insert and rows_b with bulk_create (rows differing only in their
    unique values); answer both as stored, and check the auto timestamps were set alike."""
    inserted = bulk_insert(model, shared=shared, rows=rows_a)
    created = model.objects.bulk_create([model(**shared, **row) for row in rows_b])
    for name in AUTO_TIMESTAMPS & {f.attname for f in model._meta.concrete_fields}:
        for pks in ([o.pk for o in inserted], [o.pk for o in created]):
            values = model.objects.filter(pk__in=pks).values_list(name, flat=True)
            assert all(value is not None for value in values), name
    return (
        _stored(model, [o.pk for o in inserted], skip=skip),
        _stored(model, [o.pk for o in created], skip=skip),
        inserted,
        created,
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "webfon", "site": "Sede «ñ» 100%", "department": ""},
        {"kind": "physical", "site": "O'Donnell \\ %s", "department": "Dpto"},
    ],
)
def test_extensions_are_stored_as_bulk_create_stores_them(fields):
    pool = PoolFactory()
    owner = PortalUserFactory()
    shared = {
        "node": pool.base_extension.node,
        "template_id": pool.base_extension.template_id,
        "pool": pool if fields["kind"] == "webfon" else None,
        "owner": owner if fields["kind"] == "physical" else None,
        **fields,
    }
    mine, django, inserted, created = _both_ways(
        Extension,
        shared=shared,
        rows_a=[{"number": str(n)} for n in range(900, 905)],
        rows_b=[{"number": str(n)} for n in range(950, 955)],
        skip=("number", "registration_secret"),
    )
    assert mine == django and len(mine) == 5
    # The secret is a per-row default (callable), generated alike and stored encrypted.
    for a, b in zip(inserted, created, strict=True):
        stored_a = Extension.objects.get(pk=a.pk).registration_secret
        stored_b = Extension.objects.get(pk=b.pk).registration_secret
        assert stored_a == a.registration_secret and len(stored_a) == len(stored_b)
    numbers = Extension.objects.filter(pk__in=[e.pk for e in inserted]).values_list(
        "number", flat=True
    )
    assert sorted(numbers) == [str(n) for n in range(900, 905)]


def test_audit_entries_json_ip_and_nullable_relations_are_stored_alike():
    staff = StaffUserFactory()
    shared = {"actor_kind": "user", "actor_user": staff, "action": "test.bulk"}
    rows = [
        {
            "actor_label": label,
            "client_ip": ip,
            "object_type": "extension",
            "object_id": str(n),
            "object_repr": f"«{label}»",
            "changes": changes,
        }
        for n, (label, ip, changes) in enumerate(
            [
                ("ana", "192.0.2.7", {"before": {"site": "a"}, "after": {"site": "b"}}),
                ("luis", "2001:db8::1", {"extra": [1, 2.5, None, True, "ñ"]}),
                ("sin ip", None, {}),
            ]
        )
    ]
    mine, django, _inserted, _created = _both_ways(
        AuditEntry, shared=shared, rows_a=rows, rows_b=rows
    )
    assert mine == django and len(mine) == 3


def test_pushes_json_lists_defaults_and_booleans_are_stored_alike():
    node = NodeFactory()
    rows = [
        {"reasons": ["user.update", "ldap.update"], "restart_sercen": True, "detail": "x\ny"},
        {"reasons": [], "restart_sercen": False, "detail": ""},
    ]
    mine, django, _inserted, _created = _both_ways(
        Push, shared={"node": node, "requested_by": "tests"}, rows_a=rows, rows_b=rows
    )
    assert mine == django and len(mine) == 2
    assert mine[0]["status"] == Push.Status.PENDING and mine[0]["steps"] == []


# --- bulk_insert_instances: the batch services' INSERT -----------------------------------------


def test_instances_are_stored_as_bulk_create_stores_them_and_answered_saved():
    """Columns with one value in every row are prepared once; the rows stored must still be
    bulk_create's, and the instances given come back saved (pk, timestamps, not adding)."""
    pool = PoolFactory()
    base = pool.base_extension

    def users(prefix: str) -> list[PortalUser]:
        return [
            PortalUser(
                account=f"{prefix}{n}",
                name="Mismo nombre" if n % 2 else f"Nombre {n} «ñ» 100%",
                email="",
                validation="suite",
                pool=pool if n % 3 else None,
                webfon_extension=None,
                max_sessions=1,
                totp_secret="mismo-secreto",
            )
            for n in range(6)
        ]

    mine, theirs = users("a"), users("b")
    answered = bulk_insert_instances(mine)
    created = PortalUser.objects.bulk_create(theirs)
    assert answered == mine and all(u.pk and not u._state.adding for u in mine)
    skip = {"account"}
    assert _stored(PortalUser, [u.pk for u in mine], skip=skip) == _stored(
        PortalUser, [u.pk for u in created], skip=skip
    )
    stored = {
        row["id"]: row
        for row in PortalUser.objects.filter(pk__in=[u.pk for u in mine]).values(
            "id", "created_at", "updated_at"
        )
    }
    for user in mine:
        assert stored[user.pk]["created_at"] == user.created_at
        assert stored[user.pk]["updated_at"] == user.updated_at
    # The same secret in two rows is encrypted for each (never one ciphertext shared).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT totp_secret FROM users_portaluser WHERE id IN (%s, %s)",
            [mine[0].pk, mine[1].pk],
        )
        first, second = (row[0] for row in cursor.fetchall())
    assert first != second and "mismo-secreto" not in first + second
    # Extensions: node, site and department shared, a secret of its own per row.
    extensions = [
        Extension(
            number=str(800 + n),
            kind="webfon",
            node=base.node,
            template_id=base.template_id,
            site="Sede",
            department="Dpto",
            registration_secret=f"secreto-{n}",
            pool=pool,
        )
        for n in range(3)
    ]
    bulk_insert_instances(extensions)
    assert [Extension.objects.get(pk=e.pk).registration_secret for e in extensions] == [
        "secreto-0",
        "secreto-1",
        "secreto-2",
    ]


def test_updated_fields_are_stored_as_bulk_update_stores_them(monkeypatch):
    """bulk_update_fields re-implements what bulk_update saves: compared on the same changes
    (values per row and common ones, NULLs, dates, an encrypted field, several batches)."""
    monkeypatch.setattr(bulk, "UPDATE_BATCH", 4)
    pool = PoolFactory()
    when = timezone.now().replace(microsecond=0)

    def changed(prefix: str) -> list[PortalUser]:
        users = [PortalUserFactory(account=f"{prefix}{n}", mobile="600000000") for n in range(9)]
        for n, user in enumerate(users):
            user.name = f"Nombre {n} «ñ» 100% 'x' %s"
            user.mobile = "" if n % 2 else "611111111"
            user.email = "comun@example.com"
            user.max_sessions = 1 + n % 3
            user.pool = pool if n % 2 else None
            user.password_changed_at = when if n % 3 else None
            user.totp_secret = "mismo-secreto"
            user.validation = "ldap"
        return users

    fields = ["name", "mobile", "email", "max_sessions", "pool", "password_changed_at"]
    fields += ["totp_secret", "validation"]
    mine, theirs = changed("a"), changed("b")
    bulk.bulk_update_fields(mine, fields)
    PortalUser.objects.bulk_update(theirs, fields)
    skip = {"account"}
    assert _stored(PortalUser, [u.pk for u in mine], skip=skip) == _stored(
        PortalUser, [u.pk for u in theirs], skip=skip
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT totp_secret FROM users_portaluser WHERE id IN (%s, %s)",
            [mine[0].pk, mine[1].pk],
        )
        first, second = (row[0] for row in cursor.fetchall())
    assert first != second  # one ciphertext per row, even for the same secret
