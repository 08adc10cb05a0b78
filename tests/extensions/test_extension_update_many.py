"""extension_update_many: the rules of extension_update, for many rows in a few queries
(changes of the row's own fields) or one by one (number, kind, pool), with the same errors."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from core.models import AuditEntry
from extensions.models import Extension, Template
from extensions.services import (
    EXTENSION_ROW_LOCAL_FIELDS,
    extension_update,
    extension_update_many,
)
from tests.factories import (
    PhysicalExtensionFactory,
    PoolFactory,
    PortalUserFactory,
    WebfonExtensionFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(corporate):
    pool = PoolFactory(name="P")
    # Rows the services would never leave so (written by factories): the rules extension_update
    # keeps on every update must still refuse them.
    held_physical = PhysicalExtensionFactory(node=corporate)
    PortalUserFactory(account="tiene", webfon_extension=held_physical)
    base_physical = PhysicalExtensionFactory(node=corporate)
    PoolFactory(name="Base física", base_extension=base_physical)
    held_member = WebfonExtensionFactory(node=corporate, pool=pool)
    PortalUserFactory(account="tambien", webfon_extension=held_member)
    return {
        "pool": pool,
        "plain": Template.objects.create(name="Plana", value="x"),
        "owner": PortalUserFactory(account="dueno"),
        "held_physical": held_physical,
        "base_physical": base_physical,
        "held_member": held_member,
        "taken": PhysicalExtensionFactory(number="4400", node=corporate),
    }


def cases(world, corporate):
    """(extension to change, change): good ones and one breaking each rule."""
    physical = lambda: PhysicalExtensionFactory(node=corporate)  # noqa: E731
    webfon = lambda: WebfonExtensionFactory(node=corporate)  # noqa: E731
    return [
        (physical(), {"site": "Sede nueva «ñ»", "department": "Dpto"}),  # good
        (physical(), {"owner": world["owner"]}),  # good
        (webfon(), {"registration_secret": "nuevo-secreto"}),  # good
        (webfon(), {"registration_secret": ""}),  # good: keeps the secret
        (physical(), {"site": ""}),  # required
        (physical(), {"node": None}),  # required
        (webfon(), {"owner": world["owner"]}),  # only physical extensions have an owner
        (webfon(), {"template": None}),  # a webfon extension has a template
        (webfon(), {"template": world["plain"]}),  # … a webfon one
        (world["held_physical"], {"site": "X"}),  # a user's fixed extension
        (world["base_physical"], {"site": "X"}),  # a pool's base extension
        (world["held_member"], {"site": "X"}),  # a held pool member
        (physical(), {"number": "4400"}),  # one by one: number taken
        (physical(), {"number": "44a"}),  # … not digits
        (physical(), {"kind": "webfon", "template": None}),  # … kind
        (physical(), {"pool": world["pool"]}),  # … a physical extension in a pool
        (webfon(), {"pool": world["pool"], "site": "Y"}),  # … good
    ]


def _outcome(result) -> object:
    if isinstance(result, ValidationError):
        return result.message_dict
    stored = Extension.objects.get(pk=result.pk)
    return (stored.number, stored.kind, stored.site, stored.owner_id, stored.pool_id)


def test_each_change_gets_what_extension_update_gives(actor, world, corporate):
    changes = cases(world, corporate)
    single = []
    for extension, change in changes:
        try:
            with transaction.atomic():
                single.append(
                    _outcome(extension_update(actor=actor, extension=extension, **change))
                )
                transaction.set_rollback(True)
        except ValidationError as exc:
            single.append(exc.message_dict)
    before = AuditEntry.objects.count()
    results = extension_update_many(actor=actor, changes=changes)
    assert [_outcome(r) for r in results] == single
    good = [r for r in results if not isinstance(r, ValidationError)]
    assert len(good) == 5
    assert AuditEntry.objects.count() - before == 5
    secret = changes[2][0]
    assert Extension.objects.get(pk=secret.pk).registration_secret == "nuevo-secreto"
    kept = changes[3][0]
    assert Extension.objects.get(pk=kept.pk).registration_secret == kept.registration_secret
    entry = AuditEntry.objects.get(action="extension.update", object_id=str(changes[0][0].pk))
    assert entry.changes == {
        "department": {"before": "General", "after": "Dpto"},
        "site": {"before": "Sede central", "after": "Sede nueva «ñ»"},
    }


def test_a_batch_of_own_field_changes_takes_a_few_queries(actor, corporate):
    assert {"site", "department", "owner"} <= EXTENSION_ROW_LOCAL_FIELDS

    def run(count: int) -> int:
        extensions = [PhysicalExtensionFactory(node=corporate) for _ in range(count)]
        changes = [(e, {"site": f"Sede {i}", "department": "D"}) for i, e in enumerate(extensions)]
        with CaptureQueriesContext(connection) as captured:
            results = extension_update_many(actor=actor, changes=changes)
        assert all(isinstance(r, Extension) for r in results)
        return len(captured.captured_queries)

    small, large = run(10), run(300)
    # No query per row (SQLite's parameter limit splits the statements a little more).
    assert small <= large < 30
