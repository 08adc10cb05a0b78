"""Administrators create (key shown once) and revoke API tokens in the browser."""

import re

import pytest
from rest_framework.test import APIClient

from core.models import ApiToken
from core.roles import ROLE_OPERATOR, ROLE_SALES
from tests.factories import StaffUserFactory

pytestmark = pytest.mark.django_db


def test_create_shows_the_key_once_and_revoke_disables_it(browser_for):
    integrator = StaffUserFactory(username="crm", role=ROLE_OPERATOR)
    client = browser_for()
    response = client.post("/tokens/", {"user": integrator.pk, "name": "CRM"})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    key = re.search(
        r'id="new-token-key" readonly value="([^"]+)"', response.content.decode()
    ).group(1)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/nodes/").status_code == 200
    assert key not in client.get("/tokens/").content.decode()
    token = ApiToken.objects.get()
    assert client.post(f"/tokens/{token.pk}/revocar/").status_code == 302
    assert api.get("/api/v1/nodes/").status_code == 401


def test_only_administrators_manage_tokens(browser_for):
    operator = browser_for(ROLE_OPERATOR)
    assert operator.post("/tokens/", {"user": 1, "name": "x"}).status_code == 403
    assert browser_for(ROLE_SALES).get("/tokens/").status_code == 403
    assert not ApiToken.objects.exists()
