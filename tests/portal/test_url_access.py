"""Every page of the site, for every role: who may read it, who gets 403, who goes to login.

The URL patterns are walked from django.urls.get_resolver(), so a new page is checked as soon
as it is routed. The expected answer of each URL is built from what its view asks for (the
permissions of ``get_permission_required()`` under that HTTP method, whether it handles the
method at all) and from the roles' permissions, not from a list of URLs:

- anonymous: every page redirects to /login/?next=...; the login page itself answers 200, and
  so does /healthz (for monitors); /metrics answers 403 without its allow-list or token;
- a role lacking a permission the page needs: 403, whatever the method (even a POST-only
  action: the role check comes first);
- a role with the permissions: GET 200, or 405 where the view takes no GET;
- operador and ventas hold no add/change/delete permission, so every POST they send is
  refused with 403 (405 where the page takes no POST at all): they never change anything;
- administrador: any answer but 403, 404 (the ids are real) or 500.

With the test Client an unhandled exception is raised, not turned into a 500, so "no URL may
answer 500 for any role, with GET or an empty POST" is checked by every case here.

Not walked here: /api/ (the REST API; tests/api, including the schemathesis run, covers it),
/i18n/ (Django's own set_language view) and static files (served by the web server, not
routed; the browser tests under tests/e2e load them).
"""

import datetime
import re
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.mixins import AccessMixin, PermissionRequiredMixin
from django.contrib.auth.models import AnonymousUser, Group
from django.contrib.auth.views import LoginView, LogoutView, PasswordContextMixin
from django.db.models import Q
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern
from django.utils import timezone
from django.views.i18n import JavaScriptCatalog
from django_otp_webauthn.views import BaseWebAuthnView

from accounts.models import StaffLoginThrottle
from accounts.views import OwnAccountMixin
from bulk.models import Import
from core.actors import Actor
from core.models import ApiToken
from core.roles import ROLE_ADMIN, ROLE_OPERATOR, ROLE_SALES
from core.ui import ObjectEditView
from extensions.models import Extension, ExtensionPool, Template
from nodes.models import Node, Push
from portal.services import api_token_create
from portal.views import CspReportView, HealthView, MetricsView
from tests.factories import (
    NodeFactory,
    PoolFactory,
    PortalUserFactory,
    StaffUserFactory,
    WebfonExtensionFactory,
)
from users.models import PortalUser
from webfon.models import WebfonSession

pytestmark = pytest.mark.django_db

SKIPPED_PREFIXES = ("api/", "i18n/")
ANONYMOUS = "anonymous"
ROLES = (ANONYMOUS, ROLE_OPERATOR, ROLE_SALES, ROLE_ADMIN)
# What the brief of the sales role says it reaches; checked against the derived answers.
SALES_PAGES = {"/", "/licencias/", "/licencias/calculadora/"}
WRITE_ACTIONS = ("add_", "change_", "delete_")
LOGIN_PATH = "/login/"
ANY_BUT_REFUSED = "any but 403/404/500"
# The JSON steps of a passkey ceremony (and their texts): they answer JSON errors of their own
# (never a redirect to the login page) and need a logged-in account to do anything.
CEREMONY = "passkey ceremony"


@dataclass(frozen=True)
class Route:
    route: str  # e.g. "usuarios/<int:pk>/borrar/"
    name: str
    callback: object

    @property
    def view_class(self):
        return self.callback.view_class

    @property
    def kwarg_names(self) -> list[str]:
        return re.findall(r"<(?:\w+:)?(\w+)>", self.route)


def walk(patterns, prefix: str = ""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if route.startswith(SKIPPED_PREFIXES):
            continue
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            assert isinstance(pattern.pattern, RoutePattern), f"not a path(): {route}"
            yield Route(route, pattern.name, pattern.callback)


ROUTES = list(walk(get_resolver().url_patterns))


def test_the_walk_finds_the_pages():
    names = {route.name for route in ROUTES}
    assert {"dashboard", "login", "portaluser_update", "extensionpool_member_remove"} <= names
    assert all(hasattr(route.callback, "view_class") for route in ROUTES)


# --- objects behind <int:pk> --------------------------------------------------------------


def model_of(route: Route):
    """The model behind ``pk``: URL names follow "<model_name>_<action>"."""
    model_name = route.name.split("_")[0]
    model = next((m for m in apps.get_models() if m._meta.model_name == model_name), None)
    assert model is not None, f"{route.name}: no model named {model_name!r}"
    declared = getattr(route.view_class, "model", None)
    assert declared in (None, model), f"{route.name}: view model {declared} is not {model}"
    return model


def local_node(tmp_path) -> Node:
    # Local transport: "Vista previa" reads files under tmp_path instead of dialling SSH.
    return NodeFactory(transport=Node.Transport.LOCAL, local_root=str(tmp_path / "node"))


# One row of each model a page is about, made only for the pages that need it.
BUILDERS = {
    Node: local_node,
    Push: lambda tmp_path: Push.objects.create(node=local_node(tmp_path), reasons=["tests"]),
    ExtensionPool: lambda tmp_path: PoolFactory(
        base_extension=WebfonExtensionFactory(node=local_node(tmp_path))
    ),
    Extension: lambda tmp_path: WebfonExtensionFactory(node=local_node(tmp_path)),
    PortalUser: lambda tmp_path: PortalUserFactory(),
    Template: lambda tmp_path: Template.objects.create(
        name="Plantilla de pruebas", value="allow=alaw", webfon=False
    ),
    WebfonSession: lambda tmp_path: WebfonSession.objects.create(
        user=PortalUserFactory(),
        token_digest="0" * 64,
        extension_number="5000",
        client_ip="203.0.113.7",
        started_at=timezone.now(),
        expires_at=timezone.now() + datetime.timedelta(hours=1),
    ),
    get_user_model(): lambda tmp_path: StaffUserFactory(role=ROLE_OPERATOR),
    StaffLoginThrottle: lambda tmp_path: StaffLoginThrottle.objects.create(
        account="nadie",
        client_ip="192.0.2.66",
        attempts=5,
        window_started_at=timezone.now(),
        locked_until=timezone.now() + datetime.timedelta(minutes=15),
    ),
    Import: lambda tmp_path: Import.objects.create(kind="users", file_sha256="0" * 64),
    ApiToken: lambda tmp_path: api_token_create(
        actor=Actor.system("tests"), user=StaffUserFactory(role=ROLE_ADMIN), name="CRM"
    )[0],
}


def url_of(route: Route, tmp_path) -> tuple[str, dict]:
    """The route with real ids: ``pk`` of its model, ``extension_pk`` a member of that pool."""
    kwargs = {}
    obj = None
    for name in route.kwarg_names:
        if name == "pk":
            model = model_of(route)
            assert model in BUILDERS, f"{route.route}: add a {model.__name__} to BUILDERS"
            obj = BUILDERS[model](tmp_path)
            kwargs[name] = obj.pk
        elif name == "kind":
            kwargs[name] = "users"  # an export: users, extensions or pools
        elif name in ("uidb64", "token"):
            kwargs[name] = "bm9uZQ"  # a password reset link that matches no account
        elif name == "extension_pk" and isinstance(obj, ExtensionPool):
            member = WebfonExtensionFactory(node=obj.base_extension.node, pool=obj)
            kwargs[name] = member.pk
        else:
            pytest.fail(f"{route.route}: no object for <{name}>; teach url_of() about it")
    path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(kwargs[m.group(1)]), route.route)
    return path, kwargs


# --- what each role should get ------------------------------------------------------------


def role_writes(role: str) -> bool:
    """Whether the role holds any add/change/delete permission of the portal."""
    writes = Q()
    for action in WRITE_ACTIONS:
        writes |= Q(codename__startswith=action)
    return Group.objects.get(name=role).permissions.filter(writes).exists()


def expected_status(route: Route, method: str, path: str, kwargs: dict, user) -> object:
    """The answer the view's own requirements call for: a status, "login" or ANY_BUT_REFUSED."""
    view_class = route.view_class
    request = RequestFactory().generic(method, path)
    request.user = user
    view = view_class(**route.callback.view_initkwargs)
    view.setup(request, **kwargs)
    handles = method.lower() in view.http_method_names and hasattr(view, method.lower())

    if issubclass(view_class, LoginView):
        if user.is_authenticated:
            return 302  # redirect_authenticated_user
        return 200  # the form, or the form with its errors
    if issubclass(view_class, LogoutView):
        return 302 if handles else 405
    if issubclass(view_class, PasswordContextMixin):
        return ANY_BUT_REFUSED  # the password reset pages: public, for whoever forgot
    if view_class is CspReportView:
        return 204 if method == "POST" else 405  # browsers' reports: public, POST only
    if issubclass(view_class, BaseWebAuthnView | JavaScriptCatalog):
        return CEREMONY
    if issubclass(view_class, OwnAccountMixin) and user.is_authenticated:
        return ANY_BUT_REFUSED  # one's own account: every role, reads and writes
    if view_class is HealthView:  # for monitors, without login (tests/portal/test_healthz.py)
        return 200 if handles else 405
    if view_class is MetricsView:
        # For Prometheus: its own address allow-list or token (tests/portal/test_metrics.py),
        # none set here, so nobody (logged in or not) reads it.
        return 403 if handles else 405
    assert issubclass(view_class, AccessMixin), f"{route.route} is reachable without logging in"
    if not user.is_authenticated:
        return "login"
    if isinstance(view, PermissionRequiredMixin) and not user.has_perms(
        view.get_permission_required()
    ):
        return 403
    if not handles:
        return 405
    role = user.groups.get().name
    if role == ROLE_ADMIN:
        return ANY_BUT_REFUSED
    if method == "POST" and not role_writes(role):
        return 403
    return 200


def user_for(role: str):
    if role == ANONYMOUS:
        return AnonymousUser()
    return StaffUserFactory(role=role)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.route or "/")
@pytest.mark.parametrize("role", ROLES)
def test_every_url_answers_each_role_as_its_permissions_say(route, role, tmp_path, local_nodes_dir):
    path, kwargs = url_of(route, tmp_path)
    user = user_for(role)
    client = Client()
    if user.is_authenticated:
        client.force_login(user)

    # POST last: logging out ends the session of the next request.
    for method in ("GET", "POST"):
        expected = expected_status(route, method, path, kwargs, user)
        response = client.generic(method, path)
        got = response.status_code
        where = f"{role} {method} {path} ({route.name})"
        assert got != 500, where
        if expected == "login":
            assert got == 302, f"{where}: {got}, expected a redirect to the login page"
            assert response["Location"].startswith(f"{LOGIN_PATH}?next="), where
        elif expected == CEREMONY:
            catalog = issubclass(route.view_class, JavaScriptCatalog)
            if not user.is_authenticated and not catalog:
                assert got in (401, 403, 405), f"{where}: {got}"
        elif expected == ANY_BUT_REFUSED:
            assert got not in (403, 404, 500), f"{where}: {got}"
        else:
            assert got == expected, f"{where}: {got}, expected {expected}"

        # The roles as the portal describes them, against what was derived above.
        if role == ROLE_SALES and method == "GET" and route.view_class is not HealthView:
            assert (expected == 200) == (path in SALES_PAGES), where
        own = issubclass(
            route.view_class,
            OwnAccountMixin
            | BaseWebAuthnView
            | JavaScriptCatalog
            | CspReportView
            | PasswordContextMixin,
        )
        if role == ROLE_OPERATOR and method == "POST" and not own:
            assert expected in (403, 405, 302), f"{where}: an operator's POST must not save"
        if (
            role == ROLE_OPERATOR
            and issubclass(route.view_class, ObjectEditView)
            and "pk" not in kwargs
        ):
            assert expected == 403, f"{where}: an operator may not open a create page"
