"""List filters over HTTP: a parameter filters, an invalid one is 400, none leaves the list whole."""

import pytest

from tests.factories import (
    NodeFactory,
    PhysicalExtensionFactory,
    PoolFactory,
    PortalUserFactory,
    WebfonExtensionFactory,
)

pytestmark = pytest.mark.django_db


def numbers(api, **params) -> list[str]:
    response = api.get("/api/v1/extensions/", params)
    assert response.status_code == 200, response.json()
    return [row["number"] for row in response.json()["results"]]


def test_extension_filters(api):
    node = NodeFactory()
    pool = PoolFactory(base_extension=WebfonExtensionFactory(number="5000", node=node))
    WebfonExtensionFactory(number="5001", node=node, pool=pool)
    PhysicalExtensionFactory(number="6001", node=node, site="Sede Norte")
    assert numbers(api) == ["5000", "5001", "6001"]
    assert numbers(api, kind="physical") == ["6001"]
    assert numbers(api, number__startswith="50") == ["5000", "5001"]
    assert numbers(api, in_pool="true") == ["5001"]
    assert numbers(api, pool=pool.pk) == ["5001"]
    assert numbers(api, site__icontains="norte") == ["6001"]
    assert numbers(api, search="Norte", ordering="-number") == ["6001"]
    assert numbers(api, limit=1, offset=1) == ["5001"]
    assert api.get("/api/v1/extensions/", {"pool": "abc"}).status_code == 400
    assert api.get("/api/v1/extensions/", {"kind": "satellite"}).status_code == 400


def test_user_filters(api):
    fixed = WebfonExtensionFactory(number="7000")
    PortalUserFactory(account="ana", webfon_extension=fixed)
    PortalUserFactory(account="luis")
    accounts = lambda **params: [  # noqa: E731
        row["account"] for row in api.get("/api/v1/users/", params).json()["results"]
    ]
    assert accounts() == ["ana", "luis"]
    assert accounts(has_fixed_extension="true") == ["ana"]
    assert accounts(has_fixed_extension="false") == ["luis"]
    assert accounts(account__icontains="UI") == ["luis"]


def _list_operations_with(parameter: str) -> list[str]:
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        path
        for path, item in schema["paths"].items()
        if any(p["name"] == parameter for p in item.get("get", {}).get("parameters", []))
    )


@pytest.mark.parametrize("path", _list_operations_with("search"))
def test_a_null_character_in_a_search_is_a_400_object_naming_it(api, path):
    """DRF refuses it with a bare message, which it answers as a JSON list; the schema's
    error bodies (and every other error of the API) are objects."""
    response = api.get(path, {"search": "a\x00b"})
    assert response.status_code == 400
    body = response.json()
    assert isinstance(body, dict), body
    assert "nulos" in " ".join(str(v) for v in body.values())
