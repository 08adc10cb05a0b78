"""Webfon login seen from the portal, in a real browser: a user logs in through the API, the
administrator sees the mobility extension in Administrar usuarios and forces the logout in
Sesiones webfon; the access policy is edited. Screenshots under var/screenshots/."""

import json
import urllib.request

import pytest
from playwright.sync_api import expect

from core.actors import Actor
from tests.e2e.test_admin_flows import click_and_wait, open_menu, submit
from tests.factories import PoolFactory, PortalUserFactory, WebfonExtensionFactory
from users.services import portal_user_set_password
from webfon.models import WebfonPolicy, WebfonSession

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
PASSWORD = "Clave-Webfon-1"


@pytest.fixture
def visit(visit):
    visit.page.emulate_media(reduced_motion="reduce")
    expect.set_options(timeout=15_000)
    yield visit
    expect.set_options(timeout=None)


def webfon_login(base_url: str, account: str) -> dict:
    request = urllib.request.Request(
        base_url + "/api/v1/webfon/login/",
        data=json.dumps({"account": account, "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_mobility_extension_and_forced_logout(visit, staff, licences):
    pool = PoolFactory()
    member = WebfonExtensionFactory(pool=pool, node=pool.base_extension.node)
    user = PortalUserFactory(account="agente7", pool=pool)
    portal_user_set_password(actor=Actor.system("tests"), user=user, password=PASSWORD)
    staff(username="jefa")
    visit.login("jefa")

    answer = webfon_login(visit.base_url, "agente7")
    assert answer["mobility_extension"] == member.number

    page = visit.page
    open_menu(page, "General", "Administrar usuarios")
    row = page.locator("tbody tr", has_text="agente7")
    expect(row.locator(".badge.text-bg-success")).to_have_text(member.number)
    visit.shot("usuarios-extension-movilidad")

    open_menu(page, "General", "Sesiones webfon")
    row = page.locator("tbody tr", has_text="agente7")
    expect(row).to_contain_text(member.number)
    visit.shot("sesiones")
    click_and_wait(row.get_by_role("link", name="Forzar cierre"))
    visit.shot("forzar-cierre-confirmar")  # it asks first
    assert WebfonSession.objects.get().end_reason == ""
    click_and_wait(page.locator("#confirm-action").get_by_role("button", name="Forzar cierre"))
    expect(page.locator(".alert-success")).to_contain_text("agente7")
    # Gone from the sessions in force, listed among the ended ones with its reason.
    expect(page.locator("tbody").first).not_to_contain_text("agente7")
    expect(page.locator("#ended-sessions tr[data-reason='forced']")).to_contain_text("agente7")
    visit.shot("sesion-cerrada")
    assert WebfonSession.objects.get().end_reason == "forced"


def test_policy_page(visit, staff):
    staff(username="jefa")
    visit.login("jefa")
    page = visit.page
    open_menu(page, "General", "Política de acceso webfon")
    page.fill("#id_password_min_length", "12")
    page.check("#id_password_require_digits")
    visit.shot("politica")
    submit(page, "Guardar")
    expect(page.locator(".alert-success")).to_be_visible()
    visit.shot("politica-guardada")
    policy = WebfonPolicy.objects.get()
    assert policy.password_min_length == 12 and policy.password_require_digits
