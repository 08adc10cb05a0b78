"""General > Usuarios > Administrar usuarios: list, tabs form, password, TOTP, roles, CSRF."""

import html
import re

import pyotp
import pytest
from django.contrib.auth.hashers import check_password
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.models import AuditEntry
from core.roles import ROLE_OPERATOR, ROLE_SALES
from tests.factories import (
    PhysicalExtensionFactory,
    PoolFactory,
    PortalUserFactory,
    StaffUserFactory,
    WebfonExtensionFactory,
)
from tests.users.helpers import wrong_totp_code
from users.models import PortalUser

pytestmark = pytest.mark.django_db

LIST = "/usuarios/"
NEW = "/usuarios/nuevo/"


@pytest.fixture
def admin_browser(browser_for):
    return browser_for()


def page_of(response) -> str:
    return response.content.decode()


def field_error(page: str, field_id: str) -> str:
    """The text shown right under a field (its error block), '' when there is none."""
    match = re.search(rf'id="{field_id}_error">(.*?)</div></div>', page, re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", match.group(1))).strip() if match else ""


def accounts_in(page: str) -> list[str]:
    """Accounts of the table's rows, top to bottom."""
    return re.findall(r'<td class="text-nowrap"><a href="/usuarios/\d+/">([^<]+)</a></td>', page)


def form_data(**overrides) -> dict:
    data = {
        "account": "ana.garcia",
        "name": "Ana García",
        "email": "ana@example.com",
        "mobile": "",
        "validation": "suite",
        "second_factor": "none",
        "login_number": "",
        "webfon_extension": "",
        "pool": "",
        "max_sessions": "1",
    }
    data.update({key: "" if value is None else str(value) for key, value in overrides.items()})
    return data


def edit_data(user: PortalUser, **overrides) -> dict:
    data = form_data(
        account=user.account,
        name=user.name,
        email=user.email,
        mobile=user.mobile,
        validation=user.validation,
        second_factor=user.second_factor,
        login_number=user.login_number,
        webfon_extension=user.webfon_extension_id,
        pool=user.pool_id,
        max_sessions=user.max_sessions,
    )
    data.update({key: "" if value is None else str(value) for key, value in overrides.items()})
    return data


def option_labels(page: str, select_name: str) -> list[str]:
    select = re.search(rf'<select name="{select_name}".*?</select>', page, re.S).group(0)
    return re.findall(r"<option[^>]*>([^<]*)</option>", select)


# --- list ---------------------------------------------------------------------------------


def test_list_shows_the_columns(admin_browser):
    fixed = WebfonExtensionFactory(number="5100")
    pool = PoolFactory(name="Pool ventas")
    PortalUserFactory(
        account="ana",
        name="Ana Pérez",
        email="ana@example.com",
        login_number="200",
        webfon_extension=fixed,
        validation="ldap",
        second_factor="email",
    )
    PortalUserFactory(account="luis", name="Luis Gil", pool=pool, validation="both")
    PortalUserFactory(account="eva", name="Eva Sanz", validation="disabled")
    page = page_of(admin_browser.get(LIST))
    for text in (
        "Administrar usuarios",
        "Número de login",
        "Correo electrónico",
        "Validación",
        "Doble factor",
        "Extensión webfon fija / pool",
        "Ana Pérez",
        "ana@example.com",
        "<td>200</td>",
        "<td>LDAP</td>",
        "<td>Email</td>",  # the manual's word for the e-mail double factor
        "<td>Ambas</td>",
        ">Deshabilitado</span></td>",
        "5100",
        "Pool «Pool ventas»",
    ):
        assert text in page, text
    assert accounts_in(page) == ["ana", "eva", "luis"]
    assert "3 usuarios" in page
    luis = PortalUser.objects.get(account="luis")
    assert f'<a href="{reverse("portaluser_update", args=[luis.pk])}">luis</a>' in page
    assert f'href="{reverse("portaluser_delete", args=[luis.pk])}"' in page


def test_list_search_one_box(admin_browser):
    PortalUserFactory(account="jlopez", name="Juan Lopez", email="juan@corp.example")
    PortalUserFactory(account="mruiz", name="Marta Ruiz", login_number="4471", email="m@x.example")
    PortalUserFactory(account="pgomez", name="Pablo Gomez", email="pablo@otra.example")

    def search(q: str) -> list[str]:
        return accounts_in(page_of(admin_browser.get(LIST, {"q": q})))

    assert search("jlop") == ["jlopez"]  # account
    assert search("ruiz") == ["mruiz"]  # name, any case
    assert search("447") == ["mruiz"]  # login number
    assert search("otra.example") == ["pgomez"]  # e-mail
    assert search("marta 4471") == ["mruiz"]  # every word must match
    assert search("marta pablo") == []
    assert search("  ") == ["jlopez", "mruiz", "pgomez"]


def test_list_filters(admin_browser):
    pool_a, pool_b = PoolFactory(name="A"), PoolFactory(name="B")
    PortalUserFactory(account="u1", validation="ldap", pool=pool_a)
    PortalUserFactory(account="u2", validation="suite", second_factor="email", pool=pool_b)
    PortalUserFactory(account="u3", validation="ldap", webfon_extension=WebfonExtensionFactory())
    PortalUserFactory(account="u4", validation="disabled")

    def filtered(**params) -> list[str]:
        return accounts_in(page_of(admin_browser.get(LIST, params)))

    assert filtered(validation="ldap") == ["u1", "u3"]
    assert filtered(second_factor="email") == ["u2"]
    assert filtered(second_factor="none", validation="ldap") == ["u1", "u3"]
    assert filtered(pool=pool_b.pk) == ["u2"]
    assert filtered(access="fixed") == ["u3"]
    assert filtered(access="pool") == ["u1", "u2"]
    assert filtered(access="none") == ["u4"]
    page = page_of(admin_browser.get(LIST))
    assert option_labels(page, "pool") == ["Todos", "A", "B"]
    assert 'name="q"' in page
    # A filter value that does not exist is said, and the list is not narrowed.
    page = page_of(admin_browser.get(LIST, {"pool": 999_999}))
    assert "Escoja una opción válida" in page and len(accounts_in(page)) == 4


def test_list_sorting(admin_browser):
    PortalUserFactory(account="b", name="zeta", login_number="300")
    PortalUserFactory(account="c", name="alfa", login_number="100")
    PortalUserFactory(account="a", name="media", login_number="200")
    assert accounts_in(page_of(admin_browser.get(LIST))) == ["a", "b", "c"]
    assert accounts_in(page_of(admin_browser.get(LIST, {"ordering": "-account"}))) == [
        "c",
        "b",
        "a",
    ]
    assert accounts_in(page_of(admin_browser.get(LIST, {"ordering": "name"}))) == ["c", "a", "b"]
    assert accounts_in(page_of(admin_browser.get(LIST, {"ordering": "-login_number"}))) == [
        "b",
        "a",
        "c",
    ]
    # An unknown ordering falls back to the account.
    assert accounts_in(page_of(admin_browser.get(LIST, {"ordering": "password"}))) == [
        "a",
        "b",
        "c",
    ]
    # Headers link to the opposite order of the current one, keeping the filters.
    page = page_of(admin_browser.get(LIST, {"ordering": "name", "validation": "suite"}))
    assert "validation=suite&amp;ordering=-name" in page


def test_list_pagination(admin_browser):
    PortalUser.objects.bulk_create(
        [PortalUser(account=f"user{i:03d}", name=f"User {i}") for i in range(51)]
    )
    first = page_of(admin_browser.get(LIST))
    assert len(accounts_in(first)) == 50
    assert "Página 1 de 2 (51)" in first
    second = page_of(admin_browser.get(LIST, {"page": 2}))
    assert accounts_in(second) == ["user050"]
    narrowed = page_of(admin_browser.get(LIST, {"q": "user05"}))
    assert accounts_in(narrowed) == ["user050"]
    assert admin_browser.get(LIST, {"page": 3}).status_code == 404


def test_list_queries_do_not_grow_with_rows(admin_browser):
    def populate(n: int) -> None:
        pools = PoolFactory.create_batch(2)
        for i in range(n):
            if i % 3 == 0:
                PortalUserFactory(webfon_extension=WebfonExtensionFactory())
            elif i % 3 == 1:
                PortalUserFactory(pool=pools[i % 2])
            else:
                PortalUserFactory(second_factor="email")

    def count(params: dict) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = admin_browser.get(LIST, params)
        assert response.status_code == 200
        return len(captured.captured_queries)

    views = [{}, {"q": "usuario"}, {"access": "fixed"}, {"ordering": "-name", "page": 1}]
    admin_browser.get(LIST)  # the session's first use
    populate(4)
    small = [count(params) for params in views]
    populate(40)
    large = [count(params) for params in views]
    assert large == small
    assert len(accounts_in(page_of(admin_browser.get(LIST)))) == 44


# --- create, edit, delete -----------------------------------------------------------------


def test_form_has_the_two_tabs_of_the_manual(admin_browser):
    page = page_of(admin_browser.get(NEW))
    usuario = page[page.index('id="pane-usuario"') : page.index('id="pane-centralita"')]
    centralita = page[page.index('id="pane-centralita"') :]
    assert 'data-bs-toggle="tab"' in page and ">Usuario<" in page and ">Centralita<" in page
    for name in ("account", "name", "email", "mobile", "validation", "second_factor"):
        assert f'name="{name}"' in usuario, name
    for name in ("login_number", "webfon_extension", "pool", "max_sessions"):
        assert f'name="{name}"' in centralita, name
    assert "Pool de extensiones webfon" in centralita
    assert "Sesiones simultáneas" in centralita


def test_create_through_the_page(admin_browser):
    fixed = WebfonExtensionFactory(number="5200")
    response = admin_browser.post(
        NEW,
        form_data(
            login_number="210",
            webfon_extension=fixed.pk,
            password="una-clave-larga",
            password2="una-clave-larga",
            max_sessions=2,
        ),
    )
    assert response.status_code == 302
    user = PortalUser.objects.get(account="ana.garcia")
    assert response["Location"] == f"/usuarios/{user.pk}/"
    assert (user.name, user.login_number, user.webfon_extension, user.max_sessions) == (
        "Ana García",
        "210",
        fixed,
        2,
    )
    assert check_password("una-clave-larga", user.password)
    page = page_of(admin_browser.get(response["Location"]))
    assert "«ana.garcia (Ana García)» guardado." in page
    assert "una-clave-larga" not in page and user.password not in page
    assert AuditEntry.objects.filter(action="user.create").count() == 1


def test_create_refusals_are_shown_next_to_the_field(admin_browser):
    PortalUserFactory(account="ana.garcia")
    response = admin_browser.post(NEW, form_data(password="corta", password2="corta"))
    assert response.status_code == 400
    assert "al menos 8 caracteres" in field_error(page_of(response), "id_password")
    response = admin_browser.post(NEW, form_data())
    assert response.status_code == 400
    page = page_of(response)
    assert field_error(page, "id_account") == "Ya existe un usuario con la cuenta «ana.garcia»."
    assert 'value="Ana García"' in page  # the input stays in the form
    response = admin_browser.post(NEW, form_data(account="otro", password="a" * 9, password2="b"))
    assert field_error(page_of(response), "id_password2") == "Las dos contraseñas no coinciden."
    assert PortalUser.objects.count() == 1


def test_edit_through_the_page(admin_browser):
    pool = PoolFactory(name="Pool soporte")
    user = PortalUserFactory(account="luis", name="Luis")
    page = page_of(admin_browser.get(f"/usuarios/{user.pk}/"))
    assert 'value="luis"' in page and "Solo lectura" not in page
    response = admin_browser.post(
        f"/usuarios/{user.pk}/",
        edit_data(user, name="Luis Gil", pool=pool.pk, validation="both", mobile="+34600111222"),
    )
    assert response.status_code == 302 and response["Location"] == LIST
    user.refresh_from_db()
    assert (user.name, user.pool, user.validation, user.mobile) == (
        "Luis Gil",
        pool,
        "both",
        "+34600111222",
    )
    assert "«luis (Luis Gil)» guardado." in page_of(admin_browser.get(LIST))


def test_fixed_extension_and_pool_together_refused_under_the_pool(admin_browser):
    user = PortalUserFactory(account="luis", name="Luis")
    fixed, pool = WebfonExtensionFactory(number="5300"), PoolFactory()
    response = admin_browser.post(
        f"/usuarios/{user.pk}/", edit_data(user, webfon_extension=fixed.pk, pool=pool.pk)
    )
    assert response.status_code == 400
    page = page_of(response)
    message = field_error(page, "id_pool")
    assert "ya tiene la extensión webfon fija 5300" in message and "nunca ambos" in message
    assert field_error(page, "id_webfon_extension") == ""
    # The tab holding the error is the one open, and it is marked.
    assert 'class="nav-link active text-danger" id="tab-centralita"' in page
    assert 'class="tab-pane fade show active" id="pane-centralita"' in page
    user.refresh_from_db()
    assert user.webfon_extension is None and user.pool is None


def test_fixed_extension_of_another_user_is_a_conflict_under_the_field(admin_browser):
    taken = WebfonExtensionFactory(number="5400")
    PortalUserFactory(account="owner", webfon_extension=taken)
    user = PortalUserFactory(account="luis")
    response = admin_browser.post(
        f"/usuarios/{user.pk}/", edit_data(user, webfon_extension=taken.pk)
    )
    assert response.status_code == 400
    page = page_of(response)
    assert field_error(page, "id_webfon_extension") == (
        "La extensión webfon 5400 ya es la extensión fija del usuario owner; una extensión "
        "fija pertenece a un solo usuario."
    )
    assert re.search(rf'<option value="{taken.pk}" selected>5400</option>', page)
    user.refresh_from_db()
    assert user.webfon_extension is None


def test_fixed_extension_choices_are_the_free_webfon_extensions(admin_browser):
    pool = PoolFactory(name="P")  # its base extension is not a member: it is free
    WebfonExtensionFactory(number="5501", pool=pool)  # a pool member
    PortalUserFactory(webfon_extension=WebfonExtensionFactory(number="5502"))  # someone's
    WebfonExtensionFactory(number="5503")  # free
    PhysicalExtensionFactory(number="1500")  # physical
    own = WebfonExtensionFactory(number="5504")
    user = PortalUserFactory(account="luis", webfon_extension=own)
    labels = option_labels(page_of(admin_browser.get(f"/usuarios/{user.pk}/")), "webfon_extension")
    assert labels == ["Ninguna", pool.base_extension.number, "5503", "5504"]
    labels = option_labels(page_of(admin_browser.get(NEW)), "webfon_extension")
    assert labels == ["Ninguna", pool.base_extension.number, "5503"]


def test_delete_with_confirmation(admin_browser):
    user = PortalUserFactory(account="luis", webfon_extension=WebfonExtensionFactory(number="5600"))
    owned = PhysicalExtensionFactory(number="1600", owner=user)
    page = page_of(admin_browser.get(f"/usuarios/{user.pk}/borrar/"))
    assert "¿Borrar usuario «luis" in page
    assert "5600 quedará libre" in page and "1600 quedará sin usuario propietario" in page
    assert PortalUser.objects.filter(pk=user.pk).exists()
    response = admin_browser.post(f"/usuarios/{user.pk}/borrar/", follow=True)
    assert "borrado." in page_of(response)
    assert not PortalUser.objects.filter(pk=user.pk).exists()
    owned.refresh_from_db()
    assert owned.owner is None


# --- password -----------------------------------------------------------------------------


def test_password_set_and_reset(admin_browser):
    user = PortalUserFactory(account="luis")
    url = f"/usuarios/{user.pk}/contrasena/"
    assert "Sin contraseña" in page_of(admin_browser.get(f"/usuarios/{user.pk}/"))
    response = admin_browser.post(url, {"pw-password": "corta", "pw-password2": "corta"})
    assert response.status_code == 400
    page = page_of(response)
    assert field_error(page, "id_pw-password") == (
        "La contraseña de luis debe tener al menos 8 caracteres."
    )
    assert 'value="corta"' not in page  # never shown back
    user.refresh_from_db()
    assert user.password == ""

    response = admin_browser.post(
        url, {"pw-password": "nueva-clave-1", "pw-password2": "nueva-clave-1"}
    )
    assert response.status_code == 302 and response["Location"] == f"/usuarios/{user.pk}/"
    user.refresh_from_db()
    assert check_password("nueva-clave-1", user.password)
    page = page_of(admin_browser.get(response["Location"]))
    assert "Contraseña de «luis» cambiada." in page and "Con contraseña" in page
    assert "nueva-clave-1" not in page and user.password not in page

    response = admin_browser.post(url, {"pw-password": "otra-clave-2", "pw-password2": "x"})
    assert field_error(page_of(response), "id_pw-password2") == "Las dos contraseñas no coinciden."
    user.refresh_from_db()
    assert check_password("nueva-clave-1", user.password)
    assert admin_browser.get(url)["Location"] == f"/usuarios/{user.pk}/"


# --- TOTP ---------------------------------------------------------------------------------


def test_totp_enrolment_end_to_end(admin_browser):
    user = PortalUserFactory(account="luis")
    edit = f"/usuarios/{user.pk}/"
    # Not enrolled: the factor "TOTP" is refused next to its field.
    response = admin_browser.post(edit, edit_data(user, second_factor="totp"))
    assert "necesita que el usuario luis tenga un secreto TOTP" in field_error(
        page_of(response), "id_second_factor"
    )
    assert "Dar de alta TOTP" in page_of(admin_browser.get(edit))

    response = admin_browser.post(f"/usuarios/{user.pk}/totp/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = page_of(response)
    user.refresh_from_db()
    secret = user.totp_pending_secret
    assert len(secret) == 32
    assert "<svg" in page and "<path" in page  # the QR code, inline
    grouped = " ".join(secret[i : i + 4] for i in range(0, 32, 4))
    assert f'id="totp-secret">{grouped}</code>' in page
    assert 'name="totp-code"' in page

    # Out of that one answer the pending secret is never on the page.
    page = page_of(admin_browser.get(edit))
    assert secret not in page and grouped not in page and "<svg" not in page
    assert "Alta en curso" in page and 'name="totp-code"' in page

    confirm = f"/usuarios/{user.pk}/totp/confirmar/"
    response = admin_browser.post(confirm, {"totp-code": wrong_totp_code(secret)})
    assert response.status_code == 400
    page = page_of(response)
    assert "no es válido para el alta TOTP" in field_error(page, "id_totp-code")
    assert secret not in page and grouped not in page

    response = admin_browser.post(confirm, {"totp-code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302 and response["Location"] == edit
    user.refresh_from_db()
    assert user.totp_secret == secret and user.totp_confirmed_at is not None
    page = page_of(admin_browser.get(edit))
    assert "TOTP activo" in page and "Volver a dar de alta TOTP" in page
    assert secret not in page and grouped not in page

    # Now the factor "TOTP" can be chosen.
    response = admin_browser.post(edit, edit_data(user, second_factor="totp"))
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.second_factor == "totp"
    assert "El secreto actual sigue valiendo" in page_of(admin_browser.get(edit))


def test_totp_confirm_without_enrolment_is_refused_next_to_the_code(admin_browser):
    user = PortalUserFactory(account="luis")
    response = admin_browser.post(f"/usuarios/{user.pk}/totp/confirmar/", {"totp-code": "123456"})
    assert response.status_code == 400
    assert field_error(page_of(response), "id_totp-code") == (
        "El usuario luis no tiene un alta TOTP en curso."
    )


# --- roles and CSRF -----------------------------------------------------------------------


def test_operador_reads_but_cannot_write(browser_for):
    user = PortalUserFactory(account="luis", name="Luis")
    client = browser_for(ROLE_OPERATOR)
    page = page_of(client.get(LIST))
    assert "luis" in page and "Añadir usuario" not in page and "Borrar" not in page
    page = page_of(client.get(f"/usuarios/{user.pk}/"))
    assert "Solo lectura" in page and "<fieldset disabled>" in page
    assert "Sin contraseña" in page and 'name="pw-password"' not in page
    assert "Dar de alta TOTP" not in page
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, form_data()).status_code == 403
    assert client.post(f"/usuarios/{user.pk}/", edit_data(user, name="x")).status_code == 403
    assert client.get(f"/usuarios/{user.pk}/borrar/").status_code == 403
    assert client.post(f"/usuarios/{user.pk}/borrar/").status_code == 403
    password = {"pw-password": "nueva-clave-1", "pw-password2": "nueva-clave-1"}
    assert client.post(f"/usuarios/{user.pk}/contrasena/", password).status_code == 403
    assert client.post(f"/usuarios/{user.pk}/totp/").status_code == 403
    assert client.post(f"/usuarios/{user.pk}/totp/confirmar/", {"totp-code": "1"}).status_code == (
        403
    )
    user.refresh_from_db()
    assert (user.name, user.password, user.totp_pending_secret) == ("Luis", "", "")
    assert PortalUser.objects.count() == 1


def test_ventas_and_anonymous(browser_for):
    user = PortalUserFactory()
    sales = browser_for(ROLE_SALES)
    for url in (LIST, NEW, f"/usuarios/{user.pk}/", f"/usuarios/{user.pk}/borrar/"):
        assert sales.get(url).status_code == 403, url
    assert sales.post(f"/usuarios/{user.pk}/totp/").status_code == 403
    for url in (LIST, f"/usuarios/{user.pk}/"):
        response = Client().get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]
    response = Client().post(f"/usuarios/{user.pk}/contrasena/", {"pw-password": "x" * 10})
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_every_form_needs_a_csrf_token():
    user = PortalUserFactory(account="luis")
    client = Client(enforce_csrf_checks=True)
    client.force_login(StaffUserFactory())
    password = {"pw-password": "nueva-clave-1", "pw-password2": "nueva-clave-1"}
    for url, data in (
        (NEW, form_data(account="nuevo")),
        (f"/usuarios/{user.pk}/", edit_data(user, name="x")),
        (f"/usuarios/{user.pk}/borrar/", {}),
        (f"/usuarios/{user.pk}/contrasena/", password),
        (f"/usuarios/{user.pk}/totp/", {}),
        (f"/usuarios/{user.pk}/totp/confirmar/", {"totp-code": "123456"}),
    ):
        assert client.post(url, data).status_code == 403, url
    user.refresh_from_db()
    assert user.name != "x" and user.password == "" and user.totp_pending_secret == ""
    assert list(PortalUser.objects.values_list("account", flat=True)) == ["luis"]
    # Every POST form of the pages carries the token.
    for url in (LIST, NEW, f"/usuarios/{user.pk}/", f"/usuarios/{user.pk}/borrar/"):
        page = page_of(client.get(url))
        assert page.count('method="post"') == page.count('name="csrfmiddlewaretoken"'), url
