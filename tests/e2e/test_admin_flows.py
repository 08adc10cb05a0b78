"""The administrator's daily flows, and what operador and ventas may not do, in a real browser.

Every page is reached through the menu and the page's own links and buttons (clicks in
Chromium through the live server), and every step leaves a screenshot under var/screenshots/.
"""

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from extensions.models import Extension, ExtensionPool, Template
from nodes.models import Node
from tests.factories import (
    PhysicalExtensionFactory,
    PortalUserFactory,
    WebfonExtensionFactory,
    totp_code,
)
from users.models import PortalUser

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

SYSTEM_TEMPLATE = "Plantilla para Extensiones webfon"


@pytest.fixture
def visit(visit):
    # No fade transitions (Bootstrap honours reduced motion), so a screenshot taken right
    # after opening a tab shows it, not half-faded.
    visit.page.emulate_media(reduced_motion="reduce")
    # As patient as the page's own default timeout, for a busy CI machine.
    expect.set_options(timeout=15_000)
    yield visit
    expect.set_options(timeout=None)


def open_menu(page, top: str, item: str | None = None) -> None:
    """Follow a menu entry: a dropdown ("General", "Administrar usuarios") or a plain link."""
    menu = page.locator("#menu")
    if item is None:
        link = menu.locator(".navbar-nav").get_by_role("link", name=top, exact=True)
    else:
        menu.locator("a.dropdown-toggle", has_text=top).click()
        link = menu.locator(".dropdown-menu.show").get_by_role("link", name=item, exact=True)
    href = link.get_attribute("href")
    link.click()
    page.wait_for_url(f"**{href}")


def click_and_wait(locator) -> None:
    """Click something that loads a new page (a link, a submit button) and wait for it."""
    with locator.page.expect_navigation():
        locator.click()


def submit(page, button_text: str, *, within: str = "main") -> None:
    click_and_wait(page.locator(within).get_by_role("button", name=button_text, exact=True))


def success(page):
    return page.locator("main .alert-success")


def member_numbers(page) -> list[str]:
    return page.locator("#members tr[data-member] td:first-child").all_inner_texts()


# --- administrador -------------------------------------------------------------------------


def test_admin_logs_in_through_the_login_form(visit, staff):
    staff("administrador", username="admin1")
    page = visit.goto("/usuarios/", "anonymous-goes-to-login")
    assert re.search(r"/login/\?next=/usuarios/$", page.url)

    page.fill("#id_username", "admin1")
    page.fill("#id_password", "no-es-la-contraseña")
    submit(page, "Entrar")
    visit.shot("wrong-password")
    expect(page.locator("main .alert-danger")).to_be_visible()
    assert "/login/" in page.url

    page.fill("#id_password", "contraseña-de-prueba-1")
    submit(page, "Entrar")
    # An administrador gives the second factor: a code of the app the fixture enrolled.
    assert "/cuenta/verificar/" in page.url
    visit.shot("second-factor")
    page.fill("#id_code", totp_code(get_user_model().objects.get(username="admin1")))
    submit(page, "Verificar")
    visit.shot("logged-in")
    assert page.url.endswith("/usuarios/")  # back to the page asked for
    expect(page.locator("h1")).to_have_text("Administrar usuarios")
    expect(page.locator("#menu")).to_contain_text("admin1")
    top = [t.strip() for t in page.locator("#menu .navbar-nav > li > a").all_inner_texts()]
    sections = ["General", "Vivait Call", "Nodos", "Licencias", "Auditoría"]
    assert [t for t in top if t in sections] == sections, top


def test_admin_creates_a_user_with_a_fixed_webfon_extension(visit, staff, licences, corporate):
    extension = WebfonExtensionFactory(number="5000100", node=corporate)
    staff("administrador", username="admin1")
    visit.login("admin1")
    page = visit.page

    open_menu(page, "General", "Administrar usuarios")
    click_and_wait(page.get_by_role("link", name="Añadir usuario"))
    assert page.url.endswith("/usuarios/nuevo/")
    page.fill("#id_account", "mgarcia")
    page.fill("#id_name", "María García")
    page.fill("#id_email", "mgarcia@example.com")
    visit.shot("user-new-tab-usuario")
    page.click("#tab-centralita")
    expect(page.locator("#pane-centralita")).to_be_visible()
    expect(page.locator("#pane-usuario")).to_be_hidden()
    page.select_option("#id_webfon_extension", label="5000100")
    page.fill("#id_max_sessions", "2")
    visit.shot("user-new-tab-centralita")
    submit(page, "Guardar")

    assert re.search(r"/usuarios/\d+/$", page.url)  # the new user's page
    expect(success(page)).to_contain_text("guardado")
    visit.shot("user-created")
    user = PortalUser.objects.get(account="mgarcia")
    assert user.webfon_extension_id == extension.pk
    assert user.max_sessions == 2

    open_menu(page, "General", "Administrar usuarios")
    row = page.locator("tbody tr", has_text="mgarcia")
    expect(row).to_contain_text("María García")
    expect(row).to_contain_text("5000100 fija")
    visit.shot("users-list-with-new-user")


def test_admin_builds_a_pool_from_a_range_and_gives_it_to_a_user(
    visit, staff, corporate, set_stock
):
    set_stock(50)
    WebfonExtensionFactory(number="7000", node=corporate, site="Sede norte", department="Soporte")
    WebfonExtensionFactory(number="7100", node=corporate)
    PortalUserFactory(account="lperez", name="Luis Pérez")
    staff("administrador", username="admin1")
    visit.login("admin1")
    page = visit.page

    # A new pool, with 7100 chosen in its member picker ("Añadir"/"Quitar" only change the
    # form until "Guardar").
    open_menu(page, "Vivait Call", "Pool de extensiones")
    click_and_wait(page.locator("main").get_by_role("link", name="Añadir", exact=True))
    assert page.url.endswith("/pools/nuevo/")
    page.fill("#id_name", "Pool soporte")
    page.fill("#id_base_extension", "7000")
    chosen = page.locator("[data-picker] [data-chosen] li")
    candidates = page.locator("#id_members_results li[data-candidate]")
    expect(candidates).to_have_count(2)  # loaded on arrival: 7000 and 7100
    page.fill("#id_members", "7100")
    expect(candidates).to_have_count(1)
    candidates.get_by_role("button", name="Añadir").click()
    expect(chosen).to_have_count(1)
    expect(chosen).to_contain_text("7100")
    chosen.get_by_role("button", name="Quitar").click()
    expect(chosen).to_have_count(0)
    page.fill("#id_members", "710")
    expect(candidates).to_have_count(1)
    candidates.get_by_role("button", name="Añadir").click()
    expect(chosen.locator("input[type=hidden][name=members]")).to_have_count(1)
    visit.shot("pool-new-with-a-member")
    submit(page, "Guardar")

    assert re.search(r"/pools/\d+/$", page.url)
    expect(success(page)).to_contain_text("«Pool soporte» guardado")
    pool = ExtensionPool.objects.get(name="Pool soporte")
    assert pool.base_extension.number == "7000"
    assert member_numbers(page) == ["7100"]

    # "Rango de extensiones": a preview first (nothing saved), then create.
    page.fill("#id_first", "7001")
    page.fill("#id_last", "7005")
    submit(page, "Previsualizar", within="#range")
    assert re.search(r"/pools/\d+/rango/\?first=7001&last=7005$", page.url)
    preview = page.locator("#preview")
    expect(preview).to_contain_text("Se crearán 5 extensiones webfon: 7001..7005.")
    expect(preview.locator("[data-numbers]")).to_have_text("7001 7002 7003 7004 7005")
    expect(page.locator("#preview-licences")).to_contain_text("necesita 5")
    visit.shot("range-preview")
    assert not Extension.objects.filter(number="7001").exists()
    submit(page, "Crear 5 extensiones", within="#preview")

    assert re.search(r"/pools/\d+/$", page.url)
    expect(success(page)).to_contain_text("Creadas 5 extensiones webfon (7001..7005)")
    expect(page.locator("#members-title")).to_have_text("Miembros (6)")
    visit.shot("range-created")
    assert member_numbers(page) == ["7001", "7002", "7003", "7004", "7005", "7100"]
    created = Extension.objects.filter(pool=pool, number__in=["7001", "7005"])
    assert {(e.site, e.department, e.kind) for e in created} == {
        ("Sede norte", "Soporte", "webfon")
    }

    # The picker of an existing pool: "Quitar" a member, find it again (htmx), "Añadir" it.
    submit(page, "Quitar", within="#members tr[data-member]:has-text('7100')")
    expect(success(page)).to_contain_text("Extensión 7100 quitada del pool «Pool soporte».")
    assert "7100" not in member_numbers(page)
    assert Extension.objects.get(number="7100").pool_id is None
    results = page.locator("#member-results li[data-candidate]")
    page.fill("#member-search", "99999")
    expect(page.locator("#member-results")).to_contain_text("Ninguna extensión webfon libre")
    page.fill("#member-search", "7")
    expect(results).to_have_count(2)  # free webfon extensions: 7000 (the base) and 7100
    page.fill("#member-search", "71")
    expect(results).to_have_count(1)
    visit.shot("member-search")
    submit(page, "Añadir", within="#member-results li[data-candidate]:has-text('7100')")
    expect(success(page)).to_contain_text("Extensión 7100 añadida al pool «Pool soporte».")
    assert member_numbers(page)[-1] == "7100"
    assert pool.members.count() == 6

    # The pool, on the user's "Centralita" tab.
    open_menu(page, "General", "Administrar usuarios")
    click_and_wait(page.get_by_role("link", name="lperez", exact=True))
    page.click("#tab-centralita")
    page.select_option("#id_pool", label="Pool soporte")
    visit.shot("user-pool-chosen")
    submit(page, "Guardar")
    assert page.url.endswith("/usuarios/")
    expect(success(page)).to_contain_text("guardado")
    expect(page.locator("tbody tr", has_text="lperez")).to_contain_text("Pool «Pool soporte»")
    visit.shot("user-with-pool")
    assert PortalUser.objects.get(account="lperez").pool_id == pool.pk


def test_admin_cannot_give_a_webfon_extension_a_physical_number(visit, staff, licences, corporate):
    PhysicalExtensionFactory(number="2001", node=corporate)
    staff("administrador", username="admin1")
    visit.login("admin1")
    page = visit.page

    open_menu(page, "Vivait Call", "Extensiones")
    click_and_wait(page.locator("main").get_by_role("link", name="Añadir", exact=True))
    assert page.url.endswith("/extensiones/nueva/")

    # The kind toggle: "Pool de extensiones" only for webfon, "Usuario propietario" only for
    # physical ones (hidden and disabled, so it is not sent).
    page.select_option("#id_kind", "physical")
    expect(page.locator("#id_pool")).to_be_hidden()
    expect(page.locator("#id_pool")).to_be_disabled()
    expect(page.locator("#id_owner")).to_be_visible()
    visit.shot("extension-new-physical")
    page.select_option("#id_kind", "webfon")
    expect(page.locator("#id_pool")).to_be_visible()
    expect(page.locator("#id_pool")).to_be_enabled()
    expect(page.locator("#id_owner")).to_be_hidden()

    page.fill("#id_number", "2001")
    page.select_option("#id_node", label="VC-corp-zonaejemplo")
    page.fill("#id_site", "Sede central")
    page.fill("#id_department", "Atención")
    submit(page, "Guardar")

    assert page.url.endswith("/extensiones/nueva/")
    error = page.locator("#id_number_error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("El número 2001 es una extensión física")
    visit.shot("extension-refused")
    # Right under the number field, and what was typed is kept.
    assert page.locator("#id_number ~ .invalid-feedback").count() == 1
    expect(page.locator("#id_number")).to_have_value("2001")
    expect(page.locator("#id_kind")).to_have_value("webfon")
    assert list(Extension.objects.values_list("number", "kind")) == [("2001", "physical")]


def test_admin_duplicates_the_system_webfon_template(visit, staff):
    staff("administrador", username="admin1")
    visit.login("admin1")
    page = visit.page

    open_menu(page, "General", "Plantillas")
    row = page.locator("tbody tr", has_text=SYSTEM_TEMPLATE)
    click_and_wait(row.get_by_role("link", name="Editar"))
    expect(page.locator("#system-template")).to_be_visible()
    expect(page.locator("main form").first.get_by_role("button", name="Guardar")).to_have_count(0)

    # A copy of a webfon template must keep "Extensiones webfon" in its name.
    page.fill("#id_duplicate-name", "Plantilla sede norte")
    submit(page, "Duplicar", within="#duplicate")
    error = page.locator("#id_duplicate-name_error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("no contiene «Extensiones webfon»")
    visit.shot("duplicate-refused")
    assert page.locator("#id_duplicate-name ~ .invalid-feedback").count() == 1
    assert not Template.objects.filter(name="Plantilla sede norte").exists()

    page.fill("#id_duplicate-name", "Extensiones webfon sede norte")
    submit(page, "Duplicar", within="#duplicate")
    assert re.search(r"/plantillas/\d+/$", page.url)
    expect(success(page)).to_contain_text(
        f"Plantilla «Extensiones webfon sede norte» creada como copia de «{SYSTEM_TEMPLATE}»."
    )

    open_menu(page, "General", "Plantillas")
    row = page.locator("tbody tr", has_text="Extensiones webfon sede norte")
    expect(row).to_contain_text(SYSTEM_TEMPLATE)  # "Copia de"
    visit.shot("template-list-with-copy")
    copy = Template.objects.get(name="Extensiones webfon sede norte")
    assert copy.webfon and not copy.is_system and copy.copied_from.name == SYSTEM_TEMPLATE


# --- operador and ventas -------------------------------------------------------------------


def expect_read_only(page) -> None:
    expect(page.locator("main .alert-info")).to_contain_text("Solo lectura")
    expect(page.locator("main").get_by_role("button", name="Guardar")).to_have_count(0)
    # Every field sits in a disabled fieldset (an operator may still switch the tabs).
    expect(page.locator("main form[method=post] > fieldset")).to_have_attribute("disabled", "")
    expect(page.locator("#id_name")).to_be_disabled()


def force_post(page) -> int:
    """Enable the read-only form and submit it anyway; the status of the answer."""
    with page.expect_navigation() as navigation:
        page.evaluate(
            """() => {
                const form = document.querySelector("main form[method=post]");
                form.querySelectorAll("fieldset").forEach((f) => { f.disabled = false; });
                form.submit();
            }"""
        )
    return navigation.value.status


def test_operador_reads_users_and_nodes_but_cannot_save(visit, staff, corporate):
    PortalUserFactory(account="ana", name="Ana Ruiz")
    staff("operador", username="oper1")
    visit.login("oper1")
    page = visit.page

    open_menu(page, "General", "Administrar usuarios")
    expect(page.get_by_role("link", name="Añadir usuario")).to_have_count(0)
    row = page.locator("tbody tr", has_text="ana")
    expect(row.get_by_role("link", name="Borrar")).to_have_count(0)
    click_and_wait(row.get_by_role("link", name="Ver"))
    expect_read_only(page)
    page.click("#tab-centralita")  # the tabs still work
    expect(page.locator("#pane-centralita")).to_be_visible()
    expect(page.locator("#contrasena form, #totp form")).to_have_count(0)
    visit.shot("user-read-only")
    page.evaluate("document.getElementById('id_name').value = 'Cambiado'")
    assert force_post(page) == 403
    visit.shot("user-post-refused")
    assert PortalUser.objects.get(account="ana").name == "Ana Ruiz"

    page.go_back()  # Django's bare 403 page has no menu
    open_menu(page, "Nodos")
    row = page.locator("tbody tr", has_text=corporate.name)
    click_and_wait(row.get_by_role("link", name="Ver"))
    expect_read_only(page)
    expect(page.get_by_role("link", name="Aplicar")).to_have_count(0)
    visit.shot("node-read-only")
    page.evaluate("document.getElementById('id_name').value = 'otro-nombre'")
    assert force_post(page) == 403
    assert Node.objects.get(pk=corporate.pk).name == corporate.name


def test_ventas_sees_only_licencias_and_gets_403_elsewhere(visit, staff):
    staff("ventas", username="vend1")
    visit.login("vend1")
    page = visit.page

    top = [t.strip() for t in page.locator("#menu .navbar-nav > li > a").all_inner_texts()]
    assert top == ["Licencias"]
    expect(page.locator("#menu .dropdown-item")).to_have_count(0)
    open_menu(page, "Licencias")
    expect(page.locator("h1")).to_have_text("Licencias")
    visit.shot("licencias")

    response = page.goto(visit.base_url + "/usuarios/")
    visit.shot("usuarios-403")
    assert response.status == 403
