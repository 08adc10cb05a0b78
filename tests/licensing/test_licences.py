"""Licence arithmetic (manual §7.3) and the stock that every creation path respects."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from core.exceptions import ServiceConflict
from core.models import AuditEntry
from extensions.models import Extension
from extensions.services import extension_create, extension_update
from licensing.calculator import license_estimate
from licensing.models import LicenseStock
from licensing.selectors import license_usage
from licensing.services import license_stock_set
from tests.factories import (
    NodeFactory,
    PhysicalExtensionFactory,
    PoolFactory,
    WebfonExtensionFactory,
)


@pytest.mark.parametrize(
    ("physical", "fixed", "pools", "total", "summary"),
    [
        (100, 100, (), 200, "100 extensiones HARD + 100 extensiones WEBFON = 200 licencias"),
        (100, 0, (25,), 125, "100 extensiones HARD + 25 extensiones WEBFON = 125 licencias"),
        (100, 5, (25,), 130, "100 extensiones HARD + 30 extensiones WEBFON = 130 licencias"),
        (0, 100, (), 100, "0 extensiones HARD + 100 extensiones WEBFON = 100 licencias"),
    ],
)
def test_manual_examples(physical, fixed, pools, total, summary):
    estimate = license_estimate(physical=physical, fixed_webfon=fixed, pool_sizes=pools)
    assert estimate.total == total
    assert estimate.summary() == summary


def test_several_pools_add_up():
    estimate = license_estimate(physical=10, fixed_webfon=2, pool_sizes=(5, 7))
    assert (estimate.webfon, estimate.total) == (14, 24)


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True])
def test_estimate_rejects_bad_input(bad):
    with pytest.raises(ValueError, match="physical"):
        license_estimate(physical=bad, fixed_webfon=0)


@pytest.mark.django_db
def test_usage_counts_physical_fixed_and_pooled(set_stock):
    set_stock(50)
    PhysicalExtensionFactory.create_batch(3)
    WebfonExtensionFactory.create_batch(2)
    pool = PoolFactory()  # its base is a webfon extension outside the pool
    WebfonExtensionFactory.create_batch(4, pool=pool)
    usage = license_usage()
    assert (usage.estimate.physical, usage.estimate.fixed_webfon, usage.estimate.pooled_webfon) == (
        3,
        3,
        4,
    )
    assert (usage.used, usage.free, usage.stock) == (10, 40, 50)


@pytest.mark.django_db
def test_usage_runs_a_constant_number_of_queries(django_assert_num_queries, set_stock):
    set_stock(1000)
    with django_assert_num_queries(2):
        license_usage()
    PhysicalExtensionFactory.create_batch(30)
    WebfonExtensionFactory.create_batch(30, pool=PoolFactory())
    with django_assert_num_queries(2):
        license_usage()


@pytest.mark.django_db
def test_single_create_refused_beyond_stock(actor, corporate, set_stock):
    set_stock(1)
    extension_create(
        actor=actor, number="1001", kind="physical", node=corporate, site="S", department="D"
    )
    with pytest.raises(ServiceConflict) as exc:
        extension_create(
            actor=actor, number="7001", kind="webfon", node=corporate, site="S", department="D"
        )
    assert "hacen falta 1 y quedan 0" in str(exc.value)
    assert Extension.objects.count() == 1


@pytest.mark.django_db
def test_web_login_numbers_consume_no_licence(actor, set_stock):
    from users.services import portal_user_create

    set_stock(0)
    portal_user_create(actor=actor, account="ana", name="Ana", login_number="1001")
    assert license_usage().used == 0


@pytest.mark.django_db
def test_kind_change_keeps_the_count(actor, set_stock):
    extension = PhysicalExtensionFactory(number="1001")
    set_stock(1)
    from extensions.models import Template

    extension_update(
        actor=actor,
        extension=extension,
        kind="webfon",
        template=Template.objects.get(is_system=True),
    )
    assert license_usage().used == 1


@pytest.mark.django_db
def test_stock_cannot_drop_below_use(actor, set_stock):
    set_stock(10)
    PhysicalExtensionFactory.create_batch(4)
    with pytest.raises(ServiceConflict) as exc:
        license_stock_set(actor=actor, stock=3)
    message = exc.value.message_dict["stock"][0]
    assert "3" in message and "4" in message
    assert LicenseStock.objects.get().stock == 10
    license_stock_set(actor=actor, stock=4)
    assert LicenseStock.objects.get().stock == 4
    entry = AuditEntry.objects.get(action="license.stock_set")
    assert entry.changes == {"stock": {"before": 10, "after": 4}}
    assert entry.actor_label == "tests"


@pytest.mark.django_db
@pytest.mark.parametrize("bad", [-1, "10", None])
def test_stock_must_be_a_non_negative_integer(actor, bad):
    with pytest.raises(ValidationError) as exc:
        license_stock_set(actor=actor, stock=bad)
    assert "stock" in exc.value.message_dict


@pytest.mark.django_db
def test_stock_is_a_single_row():
    with pytest.raises(IntegrityError), transaction.atomic():
        LicenseStock.objects.create(id=2, stock=5)


@pytest.mark.django_db
def test_seed_demo_refuses_over_stock_and_writes_nothing():
    from django.core.management import CommandError, call_command

    from extensions.models import ExtensionPool
    from users.models import PortalUser

    PhysicalExtensionFactory.create_batch(10)  # 10 extensions outside the demo
    LicenseStock.objects.filter(id=1).update(stock=130)
    counts = (Extension.objects.count(), PortalUser.objects.count(), ExtensionPool.objects.count())
    audit = AuditEntry.objects.count()
    with pytest.raises(CommandError, match="No hay licencias suficientes"):
        call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert (
        Extension.objects.count(),
        PortalUser.objects.count(),
        ExtensionPool.objects.count(),
    ) == counts
    assert AuditEntry.objects.count() == audit


def _bulk_extensions(count: int, start: int, **fields) -> None:
    from extensions.models import Template

    node = NodeFactory()
    template = Template.objects.get(is_system=True)
    Extension.objects.bulk_create(
        [
            Extension(
                number=str(start + i),
                node=node,
                site="S",
                department="D",
                registration_secret="x" * 20,
                template=template if fields.get("kind") == "webfon" else None,
                **fields,
            )
            for i in range(count)
        ],
        batch_size=2000,
    )


@pytest.mark.django_db
def test_summary_queries_are_constant_with_20000_extensions(api, set_stock):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    set_stock(100_000)
    api.get("/api/v1/licensing/summary/")
    _bulk_extensions(10, 100_000, kind="physical")
    with CaptureQueriesContext(connection) as small:
        assert api.get("/api/v1/licensing/summary/").data["used"] == 10
    pool = PoolFactory()
    _bulk_extensions(12_000, 200_000, kind="physical")
    _bulk_extensions(7_990, 300_000, kind="webfon", pool=pool)
    with CaptureQueriesContext(connection) as large:
        data = api.get("/api/v1/licensing/summary/").data
    assert data["used"] == 20_001  # + the pool's base extension
    assert len(large.captured_queries) == len(small.captured_queries)
