import pytest
from rest_framework.test import APIClient

from portal.actors import Actor
from portal.roles import ROLE_ADMIN
from portal.services import api_token_create
from tests.factories import StaffUserFactory


@pytest.fixture
def client_for(db):
    """An API client authenticated with a new token of a staff account of ``role``."""

    def _client(role: str = ROLE_ADMIN) -> APIClient:
        user = StaffUserFactory(role=role)
        _token, key = api_token_create(actor=Actor.system("tests"), user=user)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client

    return _client


@pytest.fixture
def api(client_for):
    return client_for(ROLE_ADMIN)
