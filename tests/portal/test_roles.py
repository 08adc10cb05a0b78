"""The three roles exist as groups with the right permissions (created by a migration)."""

import pytest
from django.contrib.auth.models import Group

from core.roles import ROLE_ADMIN, ROLE_OPERATOR, ROLE_SALES
from tests.factories import StaffUserFactory

pytestmark = pytest.mark.django_db

WRITE_PERMS = [
    "extensions.add_extension",
    "extensions.change_extensionpool",
    "users.change_portaluser",
    "users.change_ldapsettings",
    "nodes.delete_node",
    "licensing.change_licensestock",
]
READ_PERMS = [
    "extensions.view_extension",
    "extensions.view_template",
    "users.view_portaluser",
    "nodes.view_node",
    "licensing.view_licensestock",
    "portal.view_auditentry",
]


def test_groups_exist():
    assert set(Group.objects.values_list("name", flat=True)) >= {
        ROLE_ADMIN,
        ROLE_OPERATOR,
        ROLE_SALES,
    }


def test_administrador_can_do_everything():
    user = StaffUserFactory(role=ROLE_ADMIN)
    assert all(user.has_perm(p) for p in WRITE_PERMS + READ_PERMS + ["licensing.use_calculator"])


def test_operador_reads_but_changes_nothing():
    user = StaffUserFactory(role=ROLE_OPERATOR)
    assert all(user.has_perm(p) for p in READ_PERMS)
    assert not any(user.has_perm(p) for p in WRITE_PERMS)


def test_ventas_reaches_only_licensing():
    user = StaffUserFactory(role=ROLE_SALES)
    assert user.has_perm("licensing.view_licensestock")
    assert user.has_perm("licensing.use_calculator")
    assert not any(user.has_perm(p) for p in WRITE_PERMS)
    assert not any(user.has_perm(p) for p in READ_PERMS if not p.startswith("licensing."))
