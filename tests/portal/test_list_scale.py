"""List pages and API lists at the sizes of the issues: 10,000 users and 20,000 extensions.

The number of SQL queries of a page must not depend on the rows loaded: it is counted with
a few hundred rows and again with the full load (rows bulk-inserted, as an import would)."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from core.roles import ROLE_ADMIN
from extensions.models import Extension, ExtensionPool, Template
from tests.factories import NodeFactory, StaffUserFactory, WebfonExtensionFactory
from users.models import PortalUser

pytestmark = pytest.mark.django_db
USERS, EXTENSIONS, POOLS = 10_000, 20_000, 10
PAGES = [
    "/usuarios/",
    "/usuarios/?q=user&ordering=-name",
    "/extensiones/",
    "/extensiones/?kind=webfon&ordering=-number",
    "/api/v1/users/?limit=100",
    "/api/v1/users/?limit=100&connected=false&ordering=-account",
    "/api/v1/extensions/?limit=100",
    "/api/v1/extensions/?limit=100&kind=physical",
]


def load(first_user: int, last_user: int, first_ext: int, last_ext: int, *, node, pools) -> None:
    template = Template.objects.get(is_system=True)
    owners = PortalUser.objects.bulk_create(
        [
            PortalUser(
                account=f"user{i:05d}",
                name=f"User {i:05d}",
                email=f"user{i:05d}@example.com",
                second_factor="email" if i % 3 == 0 else "none",
                pool=pools[i % POOLS] if i % 2 else None,
            )
            for i in range(first_user, last_user)
        ],
        batch_size=1000,
    )
    owner_ids = list(
        PortalUser.objects.filter(account__in=[o.account for o in owners[:100]]).values_list(
            "pk", flat=True
        )
    )
    Extension.objects.bulk_create(
        [
            Extension(
                number=str(1_000_000 + i),
                kind=Extension.Kind.PHYSICAL if i % 2 else Extension.Kind.WEBFON,
                node=node,
                site="Sede",
                department="Dpto",
                owner_id=owner_ids[i % len(owner_ids)] if i % 2 else None,
                template=None if i % 2 else template,
                pool=pools[i % POOLS] if i % 4 == 0 else None,
            )
            for i in range(first_ext, last_ext)
        ],
        batch_size=1000,
    )


def test_list_queries_do_not_depend_on_rows_at_full_size(licences):
    node = NodeFactory()
    pools = [
        ExtensionPool.objects.create(
            name=f"Pool {n}", base_extension=WebfonExtensionFactory(node=node)
        )
        for n in range(POOLS)
    ]
    browser = Client()
    browser.force_login(StaffUserFactory(role=ROLE_ADMIN))
    from core.actors import Actor
    from portal.services import api_token_create

    _token, key = api_token_create(
        actor=Actor.system("tests"), user=StaffUserFactory(role=ROLE_ADMIN)
    )
    headers = {"HTTP_AUTHORIZATION": f"Token {key}"}

    def counts() -> list[int]:
        result = []
        for url in PAGES:
            browser.get(url, **headers)  # warm: sessions, caches
            with CaptureQueriesContext(connection) as captured:
                response = browser.get(url, **headers)
            assert response.status_code == 200, url
            result.append(len(captured.captured_queries))
        return result

    load(0, 200, 0, 400, node=node, pools=pools)
    small = counts()
    load(200, USERS, 400, EXTENSIONS, node=node, pools=pools)
    assert PortalUser.objects.count() == USERS
    assert Extension.objects.count() == EXTENSIONS + POOLS
    large = counts()
    assert large == small, dict(zip(PAGES, zip(small, large, strict=True), strict=True))
