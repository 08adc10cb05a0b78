"""List endpoints run a number of queries that does not depend on the row count."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import (
    ExemptNetworkFactory,
    NodeFactory,
    PhysicalExtensionFactory,
    PoolFactory,
    PortalUserFactory,
    WebfonExtensionFactory,
)

pytestmark = pytest.mark.django_db

LISTS = [
    "/api/v1/extensions/",
    "/api/v1/pools/",
    "/api/v1/users/",
    "/api/v1/nodes/",
    "/api/v1/templates/",
    "/api/v1/exempt-networks/",
    "/api/v1/licensing/summary/",
]


def populate(n: int) -> None:
    node = NodeFactory()
    pools = [PoolFactory(base_extension=WebfonExtensionFactory(node=node)) for _ in range(n)]
    for pool in pools:
        WebfonExtensionFactory.create_batch(3, node=node, pool=pool)
    PhysicalExtensionFactory.create_batch(n, node=node)
    PortalUserFactory.create_batch(n, pool=pools[0])
    ExemptNetworkFactory.create_batch(n)
    NodeFactory.create_batch(n)


def query_counts(api) -> dict[str, int]:
    counts = {}
    for path in LISTS:
        with CaptureQueriesContext(connection) as captured:
            assert api.get(path, {"limit": 1000}).status_code == 200
        counts[path] = len(captured.captured_queries)
    return counts


def test_list_queries_do_not_grow_with_rows(api):
    api.get("/api/v1/nodes/")  # the token's first use records last_used_at: one more query
    populate(2)
    small = query_counts(api)
    populate(20)
    large = query_counts(api)
    assert large == small
