"""extension_create_many: the rules of extension_create, for many rows in a few queries."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from core.exceptions import ServiceConflict
from core.models import AuditEntry
from extensions.models import Extension
from extensions.services import extension_create, extension_create_many
from tests.factories import (
    PhysicalExtensionFactory,
    PoolFactory,
    PortalUserFactory,
    WebfonExtensionFactory,
)

pytestmark = pytest.mark.django_db


def rows_for(corporate):
    """One good row and one row breaking each rule extension_create checks."""
    base = {"node": corporate, "site": "S", "department": "D"}
    return [
        {"number": "3100", "kind": "physical", **base},  # good
        {"number": "31a", "kind": "physical", **base},  # not digits
        {"number": "3101", "kind": "fax", **base},  # kind
        {"number": "3200", "kind": "webfon", **base},  # physical number taken
        {"number": "3201", "kind": "physical", **base},  # webfon number taken
        {"number": "3202", "kind": "webfon", **base},  # a login number
        {"number": "3203", "kind": "physical", **base, "pool": PoolFactory()},  # physical in pool
        {"number": "3204", "kind": "webfon", **base, "owner": PortalUserFactory()},
        {"number": "3205", "kind": "physical", "node": None, "site": "S", "department": "D"},
        {"number": "3206", "kind": "physical", **base, "site": ""},  # required
    ]


@pytest.fixture
def taken(corporate):
    PhysicalExtensionFactory(number="3200", node=corporate)
    WebfonExtensionFactory(number="3201", node=corporate)
    PortalUserFactory(account="login", login_number="3202")


def messages(exc: ValidationError) -> dict:
    return exc.message_dict


def test_each_row_is_refused_with_the_message_extension_create_gives(
    actor, corporate, taken, licences
):
    rows = rows_for(corporate)
    single = []
    for row in rows:
        try:
            with transaction.atomic():
                extension_create(actor=actor, **row)
                single.append(None)
                transaction.set_rollback(True)
        except ValidationError as exc:
            single.append(messages(exc))
    results = extension_create_many(actor=actor, rows=rows)
    many = [messages(r) if isinstance(r, ValidationError) else None for r in results]
    assert many == single
    assert single[0] is None and all(m is not None for m in single[1:])
    assert list(Extension.objects.filter(number="3100").values_list("kind", flat=True)) == [
        "physical"
    ]
    assert AuditEntry.objects.filter(action="extension.create", object_repr="3100").count() == 1


def test_a_number_twice_in_the_rows_is_refused_the_second_time(actor, corporate, licences):
    row = {"number": "3300", "kind": "physical", "node": corporate, "site": "S", "department": "D"}
    first, second = extension_create_many(actor=actor, rows=[row, {**row, "kind": "webfon"}])
    assert isinstance(first, Extension) and first.pk
    assert isinstance(second, ServiceConflict) and "3300" in second.messages[0]


def test_licences_are_counted_for_all_the_rows(actor, corporate, set_stock):
    set_stock(3)
    rows = [
        {
            "number": str(3400 + i),
            "kind": "physical",
            "node": corporate,
            "site": "S",
            "department": "D",
        }
        for i in range(4)
    ]
    with pytest.raises(ServiceConflict) as exc:
        extension_create_many(actor=actor, rows=rows)
    assert "hacen falta 4 y quedan 3" in exc.value.messages[0]
    assert not Extension.objects.exists()
    assert len(extension_create_many(actor=actor, rows=rows[:3])) == 3


def test_queries_do_not_grow_with_the_rows(actor, corporate, licences):
    def run(first: int, count: int) -> int:
        rows = [
            {
                "number": str(first + i),
                "kind": kind,
                "node": corporate,
                "site": "S",
                "department": "D",
            }
            for i in range(count)
            for kind in ["webfon" if i % 2 else "physical"]
        ]
        with CaptureQueriesContext(connection) as captured:
            results = extension_create_many(actor=actor, rows=rows)
        assert all(isinstance(r, Extension) and r.pk for r in results)
        return len(captured.captured_queries)

    run(10_000, 2)  # the licences free are counted once per transaction
    small, large = run(20_000, 10), run(30_000, 400)
    # The checks are one query each whatever the rows; only the multi-row INSERTs come in
    # chunks (SQLite takes a few hundred rows per statement, MariaDB a thousand).
    assert large <= small + 16 and large < 400 / 20
