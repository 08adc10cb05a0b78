import datetime

import pytest
from rest_framework.test import APIClient

from core.actors import Actor
from tests.factories import (
    PoolFactory,
    PortalUserFactory,
    WebfonExtensionFactory,
    WebfonSessionFactory,
)
from users.services import portal_user_set_password

PASSWORD = "Clave-Portal-1"


@pytest.fixture
def webfon_client():
    """The webfon client: no portal account, connects from 203.0.113.7 unless told."""
    return APIClient(REMOTE_ADDR="203.0.113.7")


@pytest.fixture
def login(webfon_client):
    def _login(account, password=PASSWORD, **extra):
        return webfon_client.post(
            "/api/v1/webfon/login/", {"account": account, "password": password}, **extra
        )

    return _login


@pytest.fixture
def make_user(db, licences):
    """A suite-validated user with a password, a fixed webfon extension unless ``pool``."""

    def _make(pool=None, fixed=True, password=PASSWORD, **fields):
        if pool is None and fixed:
            fields.setdefault("webfon_extension", WebfonExtensionFactory())
        user = PortalUserFactory(pool=pool, **fields)
        if password:
            portal_user_set_password(actor=Actor.system("tests"), user=user, password=password)
            user.refresh_from_db()
        return user

    return _make


@pytest.fixture
def pool_of(db, licences):
    def _pool(size: int):
        pool = PoolFactory()
        for _ in range(size):
            WebfonExtensionFactory(pool=pool, node=pool.base_extension.node)
        return pool

    return _pool


@pytest.fixture
def pool_history(db):
    """Sessions of a pool from hand-made intervals: ``add(start, end)`` with ``end=None`` for a
    session still open (expiring at ``expires``, a day later unless told)."""

    def _add(pool, start, end=None, *, expires=None):
        return WebfonSessionFactory(
            pool=pool,
            started_at=start,
            expires_at=expires or start + datetime.timedelta(days=1),
            ended_at=end,
            state="ended" if end is not None else "active",
        )

    return _add
