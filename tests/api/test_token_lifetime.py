"""API tokens: expiry, last use (time and address), read-only scope, and the schema and
docs behind a login or a token."""

import datetime
import json

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from rest_framework.test import APIClient

from core.actors import Actor
from core.models import ApiToken, AuditEntry
from portal.services import api_token_create
from tests.factories import NodeFactory, StaffUserFactory

pytestmark = pytest.mark.django_db
START = datetime.datetime(2030, 2, 1, 8, 0, tzinfo=datetime.UTC)


def token_client(key: str, address: str = "192.0.2.30") -> APIClient:
    client = APIClient(REMOTE_ADDR=address)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_a_token_lasts_ninety_days_by_default_then_answers_401(settings):
    user = StaffUserFactory()
    with time_machine.travel(START, tick=False) as clock:
        token, key = api_token_create(actor=Actor.system("tests"), user=user)
        assert token.expires_at == START + datetime.timedelta(days=settings.API_TOKEN_DAYS)
        assert settings.API_TOKEN_DAYS == 90
        clock.shift(datetime.timedelta(days=90) - datetime.timedelta(seconds=1))
        assert token_client(key).get("/api/v1/nodes/").status_code == 200
        clock.shift(2)
        answer = token_client(key).get("/api/v1/nodes/")
        assert answer.status_code == 401
        assert f"El token {token.prefix}… caducó el" in answer.json()["detail"]
        assert answer["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("days", [1, 7, 365, 3650])
def test_the_validity_is_chosen_at_creation(days):
    with time_machine.travel(START, tick=False):
        token, _key = api_token_create(
            actor=Actor.system("tests"), user=StaffUserFactory(), days=days
        )
    assert token.expires_at - START == datetime.timedelta(days=days)


@pytest.mark.parametrize("days", [0, -1, 3651, 100_000])
def test_a_validity_out_of_range_is_refused_with_the_value(days):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        api_token_create(actor=Actor.system("tests"), user=StaffUserFactory(), days=days)
    assert str(days) in " ".join(refused.value.messages)
    assert not ApiToken.objects.exists()


def test_the_setting_changes_the_default(settings):
    settings.API_TOKEN_DAYS = 30
    with time_machine.travel(START, tick=False):
        token, _key = api_token_create(actor=Actor.system("tests"), user=StaffUserFactory())
    assert token.expires_at - START == datetime.timedelta(days=30)


def test_last_use_records_time_and_address(settings):
    settings.WEBFON_TRUSTED_PROXIES = ["198.51.100.0/24"]
    with time_machine.travel(START, tick=False) as clock:
        token, key = api_token_create(actor=Actor.system("tests"), user=StaffUserFactory())
        token_client(key, "192.0.2.30").get("/api/v1/nodes/")
        token.refresh_from_db()
        assert (token.last_used_at, token.last_used_ip) == (START, "192.0.2.30")
        clock.shift(5)
        # Behind a trusted proxy the client's address is the one the proxy saw.
        token_client(key, "198.51.100.2").get("/api/v1/nodes/", HTTP_X_FORWARDED_FOR="203.0.113.8")
        token.refresh_from_db()
        assert token.last_used_ip == "203.0.113.8"


def test_a_read_only_token_reads_and_changes_nothing():
    _token, key = api_token_create(
        actor=Actor.system("tests"), user=StaffUserFactory(), read_only=True
    )
    node = NodeFactory(name="nodo-a")
    client = token_client(key)
    assert client.get("/api/v1/nodes/").status_code == 200
    assert client.options("/api/v1/nodes/").status_code == 200
    for method, path in [
        ("post", "/api/v1/nodes/"),
        ("patch", f"/api/v1/nodes/{node.pk}/"),
        ("put", f"/api/v1/nodes/{node.pk}/"),
        ("delete", f"/api/v1/nodes/{node.pk}/"),
        ("post", "/api/v1/licensing/calculate/"),
    ]:
        answer = getattr(client, method)(path, {"name": "cambiado"})
        assert answer.status_code == 403, (method, path)
        assert "solo lectura" in answer.json()["detail"]
    node.refresh_from_db()
    assert node.name == "nodo-a"


def test_the_token_page_shows_expiry_scope_and_last_use(client):
    admin = StaffUserFactory()
    client.force_login(admin)
    client.post("/tokens/", {"user": admin.pk, "name": "CRM", "days": 7, "read_only": "on"})
    token = ApiToken.objects.get()
    assert token.read_only
    assert round((token.expires_at - token.created_at).total_seconds() / 86400) == 7
    created = AuditEntry.objects.get(action="api_token.create")
    assert created.changes["read_only"] is True and created.actor_user == admin
    ApiToken.objects.filter(pk=token.pk).update(last_used_ip="192.0.2.44")
    page = client.get("/tokens/").content.decode()
    expires = timezone.localtime(token.expires_at).strftime("%Y-%m-%d %H:%M")
    assert "Solo lectura" in page and expires in page
    assert "192.0.2.44" in page
    refused = client.post("/tokens/", {"user": admin.pk, "name": "X", "days": 0})
    assert refused.status_code == 400 and "0 días" in refused.content.decode()


def test_token_create_and_revoke_are_audited_with_the_address(client):
    admin = StaffUserFactory()
    client.force_login(admin)
    client.post("/tokens/", {"user": admin.pk, "days": 90}, REMOTE_ADDR="192.0.2.50")
    token = ApiToken.objects.get()
    client.post(f"/tokens/{token.pk}/revocar/", REMOTE_ADDR="192.0.2.51")
    rows = list(
        AuditEntry.objects.filter(action__startswith="api_token.").values_list(
            "action", "actor_user", "client_ip"
        )
    )
    assert rows == [
        ("api_token.revoke", admin.pk, "192.0.2.51"),
        ("api_token.create", admin.pk, "192.0.2.50"),
    ]


def test_the_command_takes_days_and_scope(capsys):
    StaffUserFactory(username="crm")
    call_command("create_api_token", "crm", "--days", "5", "--read-only")
    key = capsys.readouterr().out.strip()
    token = ApiToken.objects.get()
    assert token.read_only and key.startswith(token.prefix)
    with pytest.raises(CommandError, match="0 días"):
        call_command("create_api_token", "crm", "--days", "0")


def test_schema_and_docs_need_a_login_or_a_token(client):
    assert APIClient().get("/api/v1/schema/").status_code == 401
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 302 and docs["Location"].startswith("/login/?next=")
    assert client.get("/api/v1/docs/?script=").status_code == 401
    _token, key = api_token_create(actor=Actor.system("tests"), user=StaffUserFactory())
    served = token_client(key).get("/api/v1/schema/?format=json")
    assert served.status_code == 200
    # What the schemathesis run loads in-process is what is served.
    generated = json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(public=True)))
    assert json.loads(served.content) == generated
    assert token_client(key).get("/api/v1/docs/").status_code == 200
    client.force_login(StaffUserFactory())
    assert client.get("/api/v1/docs/").status_code == 200
    assert client.get("/api/v1/schema/").status_code == 200
