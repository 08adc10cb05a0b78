"""Pools of webfon extensions (manual §7.5)."""

import pytest
from django.core.exceptions import ValidationError

from core.exceptions import ServiceConflict
from core.models import AuditEntry
from extensions.models import Extension, ExtensionPool
from extensions.services import (
    extension_update,
    pool_add_members,
    pool_create,
    pool_create_range,
    pool_delete,
    pool_remove_member,
    range_numbers,
    template_duplicate,
)
from tests.factories import (
    NodeFactory,
    PhysicalExtensionFactory,
    PoolFactory,
    PortalUserFactory,
    WebfonExtensionFactory,
)

pytestmark = pytest.mark.django_db


def test_base_extension_is_not_a_member_unless_added(actor):
    base = WebfonExtensionFactory(number="7000")
    pool = pool_create(actor=actor, name="Pool webfon", base_extension=base)
    base.refresh_from_db()
    assert base.pool is None
    assert pool.members.count() == 0
    pool_add_members(actor=actor, pool=pool, extensions=[base])
    assert list(pool.members.values_list("number", flat=True)) == ["7000"]


def test_base_extension_must_be_webfon(actor):
    physical = PhysicalExtensionFactory(number="1001")
    with pytest.raises(ValidationError) as exc:
        pool_create(actor=actor, name="Pool", base_extension=physical)
    assert "1001" in exc.value.message_dict["base_extension"][0]
    assert not ExtensionPool.objects.exists()


def test_pool_name_unique(actor):
    PoolFactory(name="Pool A")
    with pytest.raises(ServiceConflict) as exc:
        pool_create(actor=actor, name="Pool A", base_extension=WebfonExtensionFactory())
    assert "Pool A" in exc.value.message_dict["name"][0]


def test_members_are_webfon_extensions(actor):
    pool = PoolFactory()
    physical = PhysicalExtensionFactory(number="1001")
    with pytest.raises(ValidationError) as exc:
        pool_add_members(actor=actor, pool=pool, extensions=[physical])
    assert "1001" in exc.value.message_dict["pool"][0]
    physical.refresh_from_db()
    assert physical.pool is None


def test_an_extension_is_in_at_most_one_pool(actor):
    pool_a, pool_b = PoolFactory(name="Pool A"), PoolFactory(name="Pool B")
    member = WebfonExtensionFactory(number="7100", pool=pool_a)
    with pytest.raises(ServiceConflict) as exc:
        pool_add_members(actor=actor, pool=pool_b, extensions=[member])
    assert "7100" in exc.value.message_dict["pool"][0]
    assert "Pool A" in exc.value.message_dict["pool"][0]
    member.refresh_from_db()
    assert member.pool == pool_a


def test_add_members_is_all_or_nothing(actor):
    pool = PoolFactory()
    good = WebfonExtensionFactory(number="7200")
    bad = PhysicalExtensionFactory(number="1200")
    with pytest.raises(ValidationError):
        pool_add_members(actor=actor, pool=pool, extensions=[good, bad])
    good.refresh_from_db()
    assert good.pool is None


def test_fixed_extension_cannot_join_a_pool(actor):
    pool = PoolFactory()
    fixed = WebfonExtensionFactory(number="7300")
    PortalUserFactory(account="marta", webfon_extension=fixed)
    with pytest.raises(ServiceConflict) as exc:
        pool_add_members(actor=actor, pool=pool, extensions=[fixed])
    assert "marta" in exc.value.message_dict["pool"][0]
    with pytest.raises(ServiceConflict):
        extension_update(actor=actor, extension=fixed, pool=pool)
    fixed.refresh_from_db()
    assert fixed.pool is None


def test_clearing_the_pool_field_removes_the_member(actor):
    pool = PoolFactory()
    member = WebfonExtensionFactory(pool=pool)
    extension_update(actor=actor, extension=member, pool=None)
    assert pool.members.count() == 0


def test_remove_member(actor):
    pool = PoolFactory(name="Pool R")
    member = WebfonExtensionFactory(number="7400", pool=pool)
    pool_remove_member(actor=actor, pool=pool, extension=member)
    member.refresh_from_db()
    assert member.pool is None
    with pytest.raises(ValidationError) as exc:
        pool_remove_member(actor=actor, pool=pool, extension=member)
    assert "7400" in exc.value.message_dict["pool"][0]
    entry = AuditEntry.objects.get(action="pool.remove_member")
    assert entry.changes["removed"] == ["7400"]


def test_range_creates_members_with_the_base_profile(actor, set_stock):
    node = NodeFactory(name="corp-2")
    template = template_duplicate(
        actor=actor,
        template=Extension._meta.get_field("template").related_model.objects.get(is_system=True),
        name="Plantilla para Extensiones webfon (copia)",
    )
    base = WebfonExtensionFactory(
        number="7000", node=node, template=template, site="Sede Norte", department="Ventas"
    )
    pool = pool_create(actor=actor, name="Pool N", base_extension=base)
    set_stock(Extension.objects.count() + 25)
    created = pool_create_range(actor=actor, pool=pool, first="7101", last="7125")
    assert [e.number for e in created] == [str(n) for n in range(7101, 7126)]
    for extension in created:
        assert extension.kind == "webfon"
        assert (extension.node, extension.template, extension.site, extension.department) == (
            node,
            template,
            "Sede Norte",
            "Ventas",
        )
        assert extension.pool == pool
    assert len({e.registration_secret for e in created}) == 25
    base.refresh_from_db()
    assert base.pool is None
    entry = AuditEntry.objects.get(action="pool.create_range")
    assert entry.changes == {"first": "7101", "last": "7125", "created": 25}


def test_range_refused_when_any_number_exists_and_nothing_created(actor, licences):
    pool = PoolFactory()
    PhysicalExtensionFactory(number="7105")
    WebfonExtensionFactory(number="7110")
    before = Extension.objects.count()
    with pytest.raises(ServiceConflict) as exc:
        pool_create_range(actor=actor, pool=pool, first="7101", last="7125")
    message = exc.value.message_dict["number"][0]
    assert "7105" in message and "7110" in message
    assert Extension.objects.count() == before
    assert not AuditEntry.objects.filter(action="pool.create_range").exists()


def test_range_refused_when_it_contains_a_login_number(actor, licences):
    pool = PoolFactory()
    PortalUserFactory(account="pepe", login_number="7120")
    before = Extension.objects.count()
    with pytest.raises(ServiceConflict) as exc:
        pool_create_range(actor=actor, pool=pool, first="7101", last="7125")
    assert "7120" in exc.value.message_dict["number"][0]
    assert Extension.objects.count() == before


def test_range_refused_without_enough_licences(actor, set_stock):
    pool = PoolFactory()  # creates the base extension: 1 licence used
    set_stock(20)
    with pytest.raises(ServiceConflict) as exc:
        pool_create_range(actor=actor, pool=pool, first="7101", last="7125")
    message = str(exc.value)
    assert "25" in message and "19" in message  # needs 25, 19 free
    assert Extension.objects.count() == 1


def test_range_exactly_fitting_the_stock_is_accepted(actor, set_stock):
    pool = PoolFactory()
    set_stock(26)
    assert len(pool_create_range(actor=actor, pool=pool, first="7101", last="7125")) == 25


@pytest.mark.parametrize(
    ("first", "last", "field"),
    [
        ("7125", "7101", "last"),
        ("abc", "7101", "first"),
        ("1", "20000", "last"),
        ("", "5", "first"),
    ],
)
def test_range_bounds_validated(first, last, field):
    with pytest.raises(ValidationError) as exc:
        range_numbers(first, last)
    assert field in exc.value.message_dict


def test_range_keeps_leading_zeros():
    assert range_numbers("0098", "0101") == ["0098", "0099", "0100", "0101"]
    assert range_numbers("98", "101") == ["98", "99", "100", "101"]


def test_pool_delete_refused_while_users_use_it(actor):
    pool = PoolFactory(name="Pool U")
    PortalUserFactory(account="juan", pool=pool)
    with pytest.raises(ServiceConflict) as exc:
        pool_delete(actor=actor, pool=pool)
    assert "juan" in str(exc.value)
    assert ExtensionPool.objects.filter(pk=pool.pk).exists()


def test_pool_delete_releases_members(actor):
    pool = PoolFactory()
    member = WebfonExtensionFactory(pool=pool)
    pool_delete(actor=actor, pool=pool)
    member.refresh_from_db()
    assert member.pool is None and member.kind == "webfon"
    assert AuditEntry.objects.get(action="pool.delete").changes["released_members"] == [
        member.number
    ]


def test_range_saves_what_the_instances_say(actor, licences):
    """The rows read back equal the returned instances: ids, profile, decrypted secret, dates."""
    pool = PoolFactory()
    created = pool_create_range(actor=actor, pool=pool, first="0098", last="0103")
    assert [e.number for e in created] == ["0098", "0099", "0100", "0101", "0102", "0103"]
    stored = {e.pk: e for e in Extension.objects.filter(pool=pool)}
    assert set(stored) == {e.pk for e in created}
    for extension in created:
        row = stored[extension.pk]
        assert extension._state.adding is False
        for field in Extension._meta.concrete_fields:
            assert getattr(row, field.attname) == getattr(extension, field.attname), field.name
        assert len(extension.registration_secret) == 20
        assert extension.created_at is not None and extension.updated_at is not None


def test_range_runs_a_constant_number_of_queries(actor, licences):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    pool = PoolFactory()
    # The licences free are counted once per transaction (then remembered): count them first.
    pool_create_range(actor=actor, pool=pool, first="7001", last="7001")
    with CaptureQueriesContext(connection) as small:
        pool_create_range(actor=actor, pool=pool, first="7101", last="7105")
    with CaptureQueriesContext(connection) as large:
        # Crosses a change of length (99999 -> 100000): still one query per check.
        pool_create_range(actor=actor, pool=pool, first="99990", last="100049")
    assert len(large.captured_queries) == len(small.captured_queries)


def test_range_taken_numbers_found_across_lengths(actor, licences):
    pool = PoolFactory()
    PhysicalExtensionFactory(number="99995")
    WebfonExtensionFactory(number="100003")
    WebfonExtensionFactory(number="1000030")  # same prefix, longer: outside the range
    PortalUserFactory(account="ana", login_number="100001")
    with pytest.raises(ServiceConflict) as exc:
        pool_create_range(actor=actor, pool=pool, first="99990", last="100010")
    message = exc.value.message_dict["number"][0]
    assert "99995" in message and "100003" in message and "1000030" not in message
    Extension.objects.filter(number__in=["99995", "100003"]).delete()
    with pytest.raises(ServiceConflict) as exc:
        pool_create_range(actor=actor, pool=pool, first="99990", last="100010")
    assert "100001 (ana)" in exc.value.message_dict["number"][0]
