"""portal_user_create_many: the rules of portal_user_create, for many rows in a few queries."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from core.exceptions import ServiceConflict
from core.models import AuditEntry
from nodes.models import Push
from tests.factories import (
    PhysicalExtensionFactory,
    PoolFactory,
    PortalUserFactory,
    WebfonExtensionFactory,
)
from users.models import PortalUser
from users.services import portal_user_create, portal_user_create_many

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(corporate):
    pool = PoolFactory(name="P")
    member = WebfonExtensionFactory(number="5100", node=corporate, pool=pool)
    held = WebfonExtensionFactory(number="5101", node=corporate)
    PortalUserFactory(account="Existe", login_number="777", webfon_extension=held)
    return {
        "pool": pool,
        "member": member,
        "held": held,
        "free": WebfonExtensionFactory(number="5102", node=corporate),
        "physical": PhysicalExtensionFactory(number="5103", node=corporate),
    }


def rows_for(world):
    """One good row and one breaking each rule portal_user_create checks."""
    return [
        {"account": "bien", "name": "Bien", "webfon_extension": world["free"]},  # good
        {"account": "existe", "name": "Mayúsculas"},  # account taken (case ignored)
        {"account": "mal cuenta", "name": "X"},  # account characters
        {"account": "login", "name": "L", "login_number": "777"},  # login number taken
        {"account": "loginweb", "name": "L", "login_number": "5102"},  # a webfon number
        {"account": "ocupada", "name": "O", "webfon_extension": world["held"]},
        {"account": "enpool", "name": "P", "webfon_extension": world["member"]},
        {"account": "fisica", "name": "F", "webfon_extension": world["physical"]},
        {"account": "ambos", "name": "A", "webfon_extension": world["free"], "pool": world["pool"]},
        {"account": "mail", "name": "M", "second_factor": "email", "email": ""},
        {"account": "sesiones", "name": "S", "max_sessions": 11},
        {"account": "clave", "name": "C", "password": "a"},  # password policy
    ]


def test_each_row_is_refused_with_the_message_portal_user_create_gives(actor, world):
    rows = rows_for(world)
    single = []
    for row in rows:
        try:
            with transaction.atomic():
                portal_user_create(actor=actor, **row)
                single.append(None)
                transaction.set_rollback(True)
        except ValidationError as exc:
            single.append(exc.message_dict)
    results = portal_user_create_many(actor=actor, rows=rows)
    many = [r.message_dict if isinstance(r, ValidationError) else None for r in results]
    assert many == single
    assert single[0] is None and all(m is not None for m in single[1:])
    assert PortalUser.objects.get(account="bien").webfon_extension == world["free"]
    assert (
        AuditEntry.objects.filter(action="user.create", object_repr__startswith="bien").count() == 1
    )


def test_rows_conflict_with_earlier_rows(actor, world):
    rows = [
        {"account": "uno", "name": "1", "login_number": "900", "webfon_extension": world["free"]},
        {"account": "UNO", "name": "2"},
        {"account": "dos", "name": "2", "login_number": "900"},
        {"account": "tres", "name": "3", "webfon_extension": world["free"]},
    ]
    results = portal_user_create_many(actor=actor, rows=rows)
    assert isinstance(results[0], PortalUser) and results[0].pk
    assert [type(r) for r in results[1:]] == [ServiceConflict] * 3
    assert [list(r.message_dict) for r in results[1:]] == [
        ["account"],
        ["login_number"],
        ["webfon_extension"],
    ]


def test_queries_do_not_grow_and_one_push_is_asked(
    actor, corporate, make_webrtc_node, django_capture_on_commit_callbacks
):
    make_webrtc_node()
    pool = PoolFactory(name="Q")

    def run(prefix: str, count: int) -> int:
        fixed = [WebfonExtensionFactory(node=corporate) for _ in range(count // 2)]
        rows = [{"account": f"{prefix}{i}", "name": "N", "pool": pool} for i in range(count)]
        for row, extension in zip(rows, fixed, strict=False):
            row.update(pool=None, webfon_extension=extension)
        with CaptureQueriesContext(connection) as captured:
            results = portal_user_create_many(actor=actor, rows=rows)
        assert all(isinstance(r, PortalUser) and r.pk for r in results)
        return len(captured.captured_queries)

    small, large = run("a", 10), run("b", 300)
    assert large <= small + 12 and large < 300 / 10
    assert Push.objects.count() == 1
