"""Staff permissions are cached between requests and never used once the roles change."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from core.actors import Actor
from core.roles import ROLE_ADMIN, ROLE_OPERATOR, ROLE_SALES
from portal.services import api_token_create
from tests.factories import StaffUserFactory

pytestmark = pytest.mark.django_db


def _client(user) -> APIClient:
    _token, key = api_token_create(actor=Actor.system("tests"), user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def _permission_queries(captured) -> int:
    return sum("auth_permission" in q["sql"] for q in captured.captured_queries)


def test_second_request_reads_no_permissions():
    client = _client(StaffUserFactory(role=ROLE_ADMIN))
    with CaptureQueriesContext(connection) as first:
        assert client.get("/api/v1/nodes/").status_code == 200
    with CaptureQueriesContext(connection) as second:
        assert client.get("/api/v1/nodes/").status_code == 200
    assert _permission_queries(first) == 2
    assert _permission_queries(second) == 0


def test_changing_the_role_takes_effect_on_the_next_request():
    user = StaffUserFactory(role=ROLE_ADMIN)
    client = _client(user)
    assert client.post("/api/v1/nodes/", {"name": "a", "kind": "corporate"}).status_code == 201
    user.groups.set([Group.objects.get(name=ROLE_OPERATOR)])
    assert client.post("/api/v1/nodes/", {"name": "b", "kind": "corporate"}).status_code == 403
    assert client.get("/api/v1/nodes/").status_code == 200
    Group.objects.get(name=ROLE_OPERATOR).user_set.remove(user)
    assert client.get("/api/v1/nodes/").status_code == 403


def test_changing_a_groups_permissions_takes_effect_on_the_next_request():
    client = _client(StaffUserFactory(role=ROLE_SALES))
    assert client.get("/api/v1/nodes/").status_code == 403
    sales = Group.objects.get(name=ROLE_SALES)
    sales.permissions.add(Permission.objects.get(codename="view_node"))
    assert client.get("/api/v1/nodes/").status_code == 200
    sales.permissions.remove(Permission.objects.get(codename="view_node"))
    assert client.get("/api/v1/nodes/").status_code == 403


def test_direct_permissions_and_superuser_flag_are_not_served_stale():
    user = StaffUserFactory(role=ROLE_SALES)
    client = _client(user)
    assert client.get("/api/v1/nodes/").status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="view_node"))
    assert client.get("/api/v1/nodes/").status_code == 200
    user.user_permissions.clear()
    assert client.get("/api/v1/nodes/").status_code == 403
    user.is_superuser = True
    user.save(update_fields=["is_superuser"])
    assert client.get("/api/v1/nodes/").status_code == 200
    user.is_superuser = False
    user.save(update_fields=["is_superuser"])
    assert client.get("/api/v1/nodes/").status_code == 403
