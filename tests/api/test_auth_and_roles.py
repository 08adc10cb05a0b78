"""Tokens (stored hashed) and the three roles through the API."""

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from core.actors import Actor
from core.models import ApiToken, AuditEntry
from core.roles import ROLE_OPERATOR, ROLE_SALES
from portal.services import api_token_create, api_token_revoke
from tests.factories import NodeFactory, StaffUserFactory

pytestmark = pytest.mark.django_db


def token_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_no_token_is_401():
    assert APIClient().get("/api/v1/extensions/").status_code in (401, 403)
    response = APIClient().get("/api/v1/extensions/")
    assert response.status_code == 401


def test_bad_and_revoked_tokens_are_401():
    user = StaffUserFactory()
    token, key = api_token_create(actor=Actor.system("tests"), user=user)
    assert token_client(key).get("/api/v1/nodes/").status_code == 200
    # Change the last character (to one it is not: a key may well end in "x").
    wrong = key[:-1] + ("y" if key.endswith("x") else "x")
    assert token_client(wrong).get("/api/v1/nodes/").status_code == 401
    assert token_client("nonsense").get("/api/v1/nodes/").status_code == 401
    api_token_revoke(actor=Actor.system("tests"), token=token)
    assert token_client(key).get("/api/v1/nodes/").status_code == 401


def test_tokens_are_stored_hashed():
    user = StaffUserFactory()
    token, key = api_token_create(actor=Actor.system("tests"), user=user)
    row = ApiToken.objects.get(pk=token.pk)
    assert key not in (row.key_digest, row.prefix, row.name)
    assert key.startswith(row.prefix)
    assert key not in str(list(AuditEntry.objects.values_list("changes", flat=True)))


def test_create_api_token_command_prints_a_working_key(capsys):
    StaffUserFactory(username="crm")
    call_command("create_api_token", "crm", "--name", "CRM")
    key = capsys.readouterr().out.strip()
    assert token_client(key).get("/api/v1/nodes/").status_code == 200
    assert ApiToken.objects.get().name == "CRM"


def test_operador_reads_only(client_for):
    client = client_for(ROLE_OPERATOR)
    node = NodeFactory()
    assert client.get("/api/v1/nodes/").status_code == 200
    assert client.get("/api/v1/extensions/").status_code == 200
    assert client.get("/api/v1/licensing/summary/").status_code == 200
    assert client.post("/api/v1/nodes/", {"name": "x", "kind": "corporate"}).status_code == 403
    assert client.patch(f"/api/v1/nodes/{node.pk}/", {"name": "y"}).status_code == 403
    assert client.delete(f"/api/v1/nodes/{node.pk}/").status_code == 403
    assert client.put("/api/v1/licensing/stock/", {"stock": 5}).status_code == 403
    assert client.patch("/api/v1/ldap/", {"base_dn": "dc=x"}).status_code == 403


def test_ventas_reaches_only_licensing(client_for):
    client = client_for(ROLE_SALES)
    for path in (
        "/api/v1/nodes/",
        "/api/v1/extensions/",
        "/api/v1/users/",
        "/api/v1/pools/",
        "/api/v1/ldap/",
    ):
        assert client.get(path).status_code == 403, path
    assert client.get("/api/v1/licensing/summary/").status_code == 200
    assert client.get("/api/v1/licensing/calculate/?physical=1").status_code == 200
    assert client.put("/api/v1/licensing/stock/", {"stock": 5}).status_code == 403


def test_writes_through_a_token_are_audited_with_the_token(api):
    response = api.post("/api/v1/nodes/", {"name": "corp", "kind": "corporate"})
    assert response.status_code == 201
    entry = AuditEntry.objects.get(action="node.create")
    assert entry.actor_kind == "token" and entry.actor_label.startswith("token:")
    assert entry.actor_user is not None
