"""Hostile JSON bodies (deeply nested, huge) on every endpoint: a 400 naming the rule, never a
500 (core/api/parsers.py).

The operations come from the API's own OpenAPI schema, and every URL of the portal from its
URL patterns, so an endpoint added later is covered without touching this file.
"""

import datetime

import pytest
from django.test import Client
from django.urls import get_resolver, resolve
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from core.api.parsers import MAX_DEPTH
from extensions.models import Extension
from nodes.models import Push
from portal.services import api_token_create
from tests.factories import (
    ExemptNetworkFactory,
    NodeFactory,
    PoolFactory,
    PortalUserFactory,
    StaffUserFactory,
    WebfonExtensionFactory,
    WebrtcNodeFactory,
)
from webfon.models import WebfonSession

pytestmark = pytest.mark.django_db
DEPTH_MESSAGE = f"a más de {MAX_DEPTH} niveles"
SURROGATE_MESSAGE = "suplente UTF-16 sin su pareja (p. ej. \\ud800), que no es texto válido"
LONE = "\\ud800"  # as written in the JSON text: the escape of a lone surrogate


def nested_arrays(depth: int, closed: bool = True) -> str:
    return "[" * depth + ("]" * depth if closed else "")


def nested_objects(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.fixture
def seeded(db, licences, actor):
    """A row behind every kind of URL."""
    corporate = NodeFactory(name="corp")
    node = WebrtcNodeFactory(name="meet", corporate_node=corporate)
    pool = PoolFactory()
    member = WebfonExtensionFactory(pool=pool, node=corporate)
    user = PortalUserFactory(pool=pool)
    ExemptNetworkFactory(network="192.0.2.0/24")
    Push.objects.create(node=node, reasons=["test"])
    WebfonSession.objects.create(
        user=user,
        token_digest="0" * 64,
        extension=member,
        pool_extension=member,
        extension_number=member.number,
        client_ip="203.0.113.7",
        started_at=timezone.now(),
        expires_at=timezone.now() + datetime.timedelta(hours=1),
    )
    api_token_create(actor=actor, user=StaffUserFactory(role="administrador"))


@pytest.fixture
def admin_api(client_for):
    return client_for()


def model_of(view_func):
    cls = getattr(view_func, "cls", None) or getattr(view_func, "view_class", None)
    model = getattr(cls, "model", None)
    queryset = getattr(cls, "queryset", None)
    return model or getattr(queryset, "model", None)


def concrete(path_format: str, params: list[str]) -> str:
    """A URL of the pattern naming rows that exist (any row of the view's model)."""
    probe = "/" + path_format % dict.fromkeys(params, "1")
    model = model_of(resolve(probe).func)
    values = {}
    for param in params:
        if param == "extension_pk":
            values[param] = Extension.objects.filter(pool__isnull=False).first().pk
        elif model is not None and model.objects.exists():
            values[param] = model.objects.order_by("pk").first().pk
        else:
            values[param] = 1
    return "/" + path_format % values


def every_url() -> list[str]:
    """Each URL pattern of the portal once (DRF's ``.json`` suffix variants aside)."""
    urls = set()
    resolver = get_resolver()
    for key in list(resolver.reverse_dict):
        if not isinstance(key, str):
            continue
        for possibilities, _pattern, _defaults, _converters in resolver.reverse_dict.getlist(key):
            for path_format, params in possibilities:
                if "format" not in params and not path_format.startswith("static/"):
                    urls.add((path_format, tuple(params)))
    return sorted(urls)


def request_properties(schema: dict, operation: dict) -> list[str]:
    """The property names of an operation's JSON request body (followed through its $ref)."""
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    if "$ref" in body:
        body = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    return sorted(body.get("properties", {}))


def json_operations() -> list[tuple[str, str]]:
    """(method, path) of every API operation that takes a JSON body."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    )


OPERATIONS = json_operations()
_SCHEMA = SchemaGenerator().get_schema(request=None, public=True)
PROPERTIES = {
    (method, path): request_properties(_SCHEMA, _SCHEMA["paths"][path][method.lower()])
    for method, path in OPERATIONS
}


def api_path(path: str) -> str:
    if "{id}" not in path:
        return path
    return concrete(path.replace("{id}", "%(pk)s").lstrip("/"), ["pk"])


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[" ".join(o) for o in OPERATIONS])
def test_every_json_operation_refuses_hostile_bodies_with_a_400(
    method, path, seeded, admin_api, settings
):
    url = api_path(path)
    anonymous = APIClient(REMOTE_ADDR="203.0.113.7")
    limit = settings.API_JSON_MAX_BYTES
    bodies = {
        "100,000 [ never closed": (nested_arrays(100_000, closed=False), DEPTH_MESSAGE),
        "100,000 nested arrays": (nested_arrays(100_000), DEPTH_MESSAGE),
        "100,000 nested objects": (nested_objects(100_000), DEPTH_MESSAGE),
        f"{MAX_DEPTH + 1} nested arrays": (nested_arrays(MAX_DEPTH + 1), DEPTH_MESSAGE),
        "a body over the size limit": ('{"a": "' + "x" * limit + '"}', f"más de {limit} bytes"),
        "not JSON": ("{'a': 1", "no es JSON válido"),
        # Every field of the operation holding a lone surrogate: a field whose error message
        # repeats the value could not encode that message.
        "lone surrogates in every field": (
            "{" + ",".join(f'"{name}": "a{LONE}"' for name in PROPERTIES[(method, path)]) + "}",
            SURROGATE_MESSAGE,
        ),
        "a lone surrogate in a key": (f'{{"{LONE}": 1}}', "Una clave del cuerpo JSON"),
        "a lone surrogate deep in a list": (f'{{"a": [1, [["{LONE}"]]]}}', "«a[1][0][0]»"),
    }
    for name, (body, message) in bodies.items():
        for who, client in (("admin", admin_api), ("anonymous", anonymous)):
            response = client.generic(method, url, body, content_type="application/json")
            assert response.status_code < 500, (name, who, response.status_code)
            if who == "admin" or response.status_code == 400:
                # Anonymous callers of protected operations get 401 before any parsing.
                assert response.status_code == 400, (name, who, response.content[:300])
                assert message in response.json()["detail"], (name, who, response.json())
    # Up to the limit the body is parsed: what answers is the operation's own validation.
    response = admin_api.generic(
        method, url, nested_arrays(MAX_DEPTH), content_type="application/json"
    )
    assert response.status_code < 500
    assert DEPTH_MESSAGE not in response.content.decode()


@pytest.mark.parametrize(("path_format", "params"), every_url())
def test_no_url_answers_500_to_a_hostile_json_body(path_format, params, seeded):
    """Pages and API alike, logged in as an administrator and anonymous, every method."""
    url = concrete(path_format, list(params))
    admin = StaffUserFactory(role="administrador")
    for method in ("POST", "PUT", "PATCH"):
        for body in (nested_arrays(100_000, closed=False), nested_objects(100_000)):
            for logged_in in (True, False):
                client = Client(REMOTE_ADDR="203.0.113.7")
                if logged_in:
                    client.force_login(admin)
                response = client.generic(method, url, body, content_type="application/json")
                assert response.status_code < 500, (method, url, logged_in, response.status_code)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[" ".join(o) for o in OPERATIONS])
def test_a_body_of_a_media_type_the_api_does_not_read_is_a_documented_415(
    method, path, seeded, admin_api
):
    url = api_path(path)
    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert "415" in schema["paths"][path][method.lower()]["responses"]
    response = admin_api.generic(method, url, "<x/>", content_type="application/xml")
    assert response.status_code == 415, response.content
    assert isinstance(response.json(), dict) and response.json()["detail"]
