"""portal_user_update_many: the rules of portal_user_update, for many rows in a few queries
(changes of the row's own fields) or one by one (the others), with the same errors."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from core.models import AuditEntry
from tests.factories import (
    PhysicalExtensionFactory,
    PoolFactory,
    PortalUserFactory,
    WebfonExtensionFactory,
)
from users.models import PortalUser
from users.services import (
    USER_ROW_LOCAL_FIELDS,
    portal_user_update,
    portal_user_update_many,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(corporate):
    pool = PoolFactory(name="P")
    held = WebfonExtensionFactory(number="5201", node=corporate)
    PortalUserFactory(account="existe", login_number="778", webfon_extension=held)
    return {
        "pool": pool,
        "member": WebfonExtensionFactory(number="5200", node=corporate, pool=pool),
        "held": held,
        "free": WebfonExtensionFactory(number="5202", node=corporate),
        "physical": PhysicalExtensionFactory(number="5203", node=corporate),
    }


# One change breaking each rule portal_user_update checks (and good ones), by kind.
ROW_LOCAL = {
    "good name": {"name": "  Nombre nuevo «ñ» "},
    "good several": {"email": "nuevo@example.com", "mobile": "600111222", "max_sessions": 3},
    "good validation": {"validation": "ldap"},
    "empty name": {"name": "  "},
    "bad e-mail": {"email": "no es correo"},
    "bad mobile": {"mobile": "abc"},
    "too many sessions": {"max_sessions": 11},
    "no sessions": {"max_sessions": 0},
    "unknown validation": {"validation": "kerberos"},
    "unknown second factor": {"second_factor": "sms"},
    "e-mail factor without e-mail": {"second_factor": "email", "email": ""},
    "totp without secret": {"second_factor": "totp"},
}
ACROSS_ROWS = {
    "good fixed extension": lambda w: {"webfon_extension": w["free"]},
    "good pool": lambda w: {"pool": w["pool"]},
    "disabled": lambda w: {"validation": "disabled"},
    "account taken": lambda w: {"account": "EXISTE"},
    "account characters": lambda w: {"account": "mal cuenta"},
    "login number taken": lambda w: {"login_number": "778"},
    "login number is webfon": lambda w: {"login_number": "5202"},
    "extension held": lambda w: {"webfon_extension": w["held"]},
    "extension in a pool": lambda w: {"webfon_extension": w["member"]},
    "physical extension": lambda w: {"webfon_extension": w["physical"]},
    "fixed and pool": lambda w: {"webfon_extension": w["free"], "pool": w["pool"]},
}


def _changes(world) -> list[dict]:
    return [*ROW_LOCAL.values(), *(change(world) for change in ACROSS_ROWS.values())]


def test_each_change_gets_what_portal_user_update_gives(actor, world):
    changes = _changes(world)
    users = [
        PortalUserFactory(account=f"u{i}", email=f"u{i}@example.com") for i in range(len(changes))
    ]
    single = []
    for user, change in zip(users, changes, strict=True):
        try:
            with transaction.atomic():
                updated = portal_user_update(actor=actor, user=user, **change)
                single.append(
                    {
                        name: getattr(updated, name)
                        for name in ["name", "email", "mobile", "max_sessions", "validation"]
                    }
                )
                transaction.set_rollback(True)
        except ValidationError as exc:
            single.append(exc.message_dict)
    before = AuditEntry.objects.count()
    results = portal_user_update_many(actor=actor, changes=list(zip(users, changes, strict=True)))
    many = [
        r.message_dict
        if isinstance(r, ValidationError)
        else {
            name: getattr(r, name)
            for name in ["name", "email", "mobile", "max_sessions", "validation"]
        }
        for r in results
    ]
    assert many == single
    good = [i for i, r in enumerate(results) if not isinstance(r, ValidationError)]
    assert len(good) == 6 and all(
        not isinstance(single[i], dict) or "name" in single[i] for i in good
    )
    # Saved as portal_user_update saves: the new values, one audit entry each with before/after.
    assert PortalUser.objects.get(pk=users[0].pk).name == "Nombre nuevo «ñ»"
    assert AuditEntry.objects.count() - before == len(good)
    entry = AuditEntry.objects.get(action="user.update", object_id=str(users[0].pk))
    assert entry.changes == {"name": {"before": users[0].name, "after": "Nombre nuevo «ñ»"}}


def test_a_batch_of_own_field_changes_takes_a_few_queries(actor):
    assert {"name", "email", "mobile", "max_sessions"} <= USER_ROW_LOCAL_FIELDS

    def run(prefix: str, count: int) -> int:
        users = [PortalUserFactory(account=f"{prefix}{i}") for i in range(count)]
        changes = [
            (user, {"name": f"Nuevo {i}", "max_sessions": 2}) for i, user in enumerate(users)
        ]
        with CaptureQueriesContext(connection) as captured:
            results = portal_user_update_many(actor=actor, changes=changes)
        assert all(isinstance(r, PortalUser) for r in results)
        assert (
            PortalUser.objects.filter(account__startswith=prefix, max_sessions=2).count() == count
        )
        return len(captured.captured_queries)

    small, large = run("a", 10), run("b", 300)
    # No query per row (SQLite's parameter limit splits the statements a little more).
    assert small <= large < 30
