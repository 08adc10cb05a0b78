"""The multi-row INSERT of core.bulk (used by pool ranges)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import bulk
from core.bulk import bulk_insert
from extensions.models import Extension
from tests.factories import NodeFactory, PoolFactory

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
