"""The services validate each row once, in Python (core.updates.validate_row: full_clean
without constraints nor the existence query of related rows), plus their own checks across
rows. Django 5's full_clean would otherwise check every CheckConstraint and UniqueConstraint with a query of its own (in a
savepoint), which made a 1,000-row transaction cost ~30 queries per row.

These tests pin why that is safe: every CheckConstraint of the models the services write is
also a field choice, a validator or a rule of ``clean()``, so an instance breaking it fails
the Python validation alone — with no query — and a new constraint fails here until its rule
is in ``clean()`` too. The unique constraints are the services' cross-row checks (tested
with the services); the database still enforces everything (test_extension_constraints.py).
"""

import pytest
from django.core.exceptions import ValidationError
from django.db import models

from core.updates import validate_row
from extensions.models import Extension, ExtensionPool
from tests.factories import (
    NodeFactory,
    PhysicalExtensionFactory,
    PoolFactory,
    PortalUserFactory,
    WebfonExtensionFactory,
)
from users.models import PortalUser

pytestmark = pytest.mark.django_db


def _user(**fields) -> PortalUser:
    base = {"account": "ana", "name": "Ana", "email": "ana@example.com"}
    return PortalUser(**(base | fields))


# CheckConstraint name -> (build an instance that breaks only it, field the error is on)
BREAKERS = {
    "portaluser_validation_valid": (lambda: _user(validation="kerberos"), "validation"),
    "portaluser_second_factor_valid": (lambda: _user(second_factor="sms"), "second_factor"),
    "portaluser_fixed_extension_xor_pool": (
        lambda: _user(webfon_extension=WebfonExtensionFactory(), pool=PoolFactory()),
        "pool",
    ),
    "portaluser_email_factor_needs_email": (
        lambda: _user(second_factor="email", email=""),
        "email",
    ),
    "portaluser_totp_factor_needs_secret": (
        lambda: _user(second_factor="totp"),
        "second_factor",
    ),
    "portaluser_max_sessions_range": (lambda: _user(max_sessions=11), "max_sessions"),
    "extension_kind_valid": (
        lambda: Extension(number="1", kind="fax", node=NodeFactory(), site="S", department="D"),
        "kind",
    ),
    "extension_physical_never_in_pool": (
        lambda: Extension(
            number="1",
            kind="physical",
            node=NodeFactory(),
            site="S",
            department="D",
            pool=PoolFactory(),
        ),
        "pool",
    ),
    "extension_owner_only_physical": (
        lambda: Extension(
            number="1",
            kind="webfon",
            node=NodeFactory(),
            template=WebfonExtensionFactory().template,
            site="S",
            department="D",
            owner=PortalUserFactory(),
        ),
        "owner",
    ),
    "extension_webfon_has_template": (
        lambda: Extension(number="1", kind="webfon", node=NodeFactory(), site="S", department="D"),
        "template",
    ),
    "extensionpool_relogin_valid": (
        lambda: ExtensionPool(name="P", base_extension=WebfonExtensionFactory(), relogin="nunca"),
        "relogin",
    ),
}
MODELS = (PortalUser, Extension, ExtensionPool)


def test_every_check_constraint_has_a_breaker():
    checks = {
        constraint.name
        for model in MODELS
        for constraint in model._meta.constraints
        if isinstance(constraint, models.CheckConstraint)
    }
    assert checks == set(BREAKERS)


@pytest.mark.parametrize("name", sorted(BREAKERS))
def test_python_validation_alone_refuses_what_the_constraint_refuses(
    name, django_assert_num_queries
):
    build, field = BREAKERS[name]
    instance = build()
    constraint = next(c for c in type(instance)._meta.constraints if c.name == name)
    # The database's rule refuses it (Django evaluates the condition on the instance) ...
    with pytest.raises(ValidationError):
        constraint.validate(type(instance), instance)
    # ... and so does the validation the services run, without a query.
    with django_assert_num_queries(0), pytest.raises(ValidationError) as exc:
        validate_row(instance)
    assert field in exc.value.message_dict


def test_a_valid_row_is_validated_without_a_query(django_assert_num_queries):
    pool = PoolFactory()
    user = _user(pool=pool)
    extension = PhysicalExtensionFactory.build(node=NodeFactory(), owner=PortalUserFactory())
    with django_assert_num_queries(0):
        validate_row(user)
        validate_row(extension)


def test_an_empty_required_relation_is_still_refused():
    extension = Extension(number="1", kind="physical", site="S", department="D")
    with pytest.raises(ValidationError) as exc:
        validate_row(extension)
    assert "node" in exc.value.message_dict
