"""Spanish by default, English selectable: set_language, Accept-Language, the catalogue."""

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.utils import translation

from nodes.models import Node
from tests.factories import StaffUserFactory

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES"


@pytest.fixture(autouse=True)
def _back_to_default_language():
    # LocaleMiddleware leaves the request's language active in the thread; other tests
    # compare against Spanish texts.
    yield
    translation.deactivate()


@pytest.fixture
def browser(browser_for):
    return browser_for()


def test_spanish_by_default(browser):
    page = browser.get("/").content.decode()
    assert "Resumen de la instalación" in page
    assert '<html lang="es">' in page


def test_english_after_set_language(browser):
    response = browser.post("/i18n/setlang/", {"language": "en", "next": "/nodos/"})
    assert response.status_code == 302 and response["Location"] == "/nodos/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"

    page = browser.get("/").content.decode()
    assert "Installation summary" in page and "Resumen de la instalación" not in page
    assert '<html lang="en">' in page

    # A refusal raised by a service comes back in the chosen language too.
    data = {"name": "corp", "kind": "corporate", "transport": "ssh"}
    assert browser.post("/nodos/nuevo/", data).status_code == 302
    response = browser.post("/nodos/nuevo/", data)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_name_error"' in html
    assert "A node named “corp” already exists." in html
    assert "Ya existe un nodo" not in html
    assert Node.objects.count() == 1

    # And back to Spanish.
    browser.post("/i18n/setlang/", {"language": "es", "next": "/"})
    assert "Resumen de la instalación" in browser.get("/").content.decode()


def test_the_browsers_language_is_not_followed(browser):
    """Spanish whatever Accept-Language says: the switch (and the account) decide."""
    for header in ("en-GB,en;q=0.9", "en", "de", "es-ES,es;q=0.9,en;q=0.5"):
        page = browser.get("/", HTTP_ACCEPT_LANGUAGE=header)
        assert "Resumen de la instalación" in page.content.decode()
        assert page["Content-Language"] == "es"


def test_login_page_follows_the_switch_not_the_browser():
    client = Client()
    page = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Contraseña" in page
    client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    page = client.get("/login/").content.decode()
    assert "Password" in page and "Contraseña" not in page


def test_english_is_remembered_per_account(db):
    english, spanish = StaffUserFactory(role="operador"), StaffUserFactory(role="operador")
    first = Client()
    first.force_login(english)
    first.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert english.staff_preference.language == "en"
    # Another browser (no cookie): the account's choice from its login on.
    other = Client()
    other.force_login(english)
    assert "Installation summary" in other.get("/").content.decode()
    # Another account in the first browser's cookie jar is not affected by its choice.
    third = Client()
    third.force_login(spanish)
    assert "Resumen de la instalación" in third.get("/").content.decode()
    # Back to Spanish, remembered too.
    other.post("/i18n/setlang/", {"language": "es", "next": "/"})
    again = Client()
    again.force_login(english)
    assert "Resumen de la instalación" in again.get("/").content.decode()


def test_language_switch_include():
    request = RequestFactory().get("/nodos/?kind=webrtc")
    html = render_to_string("portal/language_switch.html", request=request)
    assert 'action="/i18n/setlang/"' in html and 'method="post"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'name="next" value="/nodos/?kind=webrtc"' in html
    assert '<option value="es" lang="es" selected>Español</option>' in html
    assert '<option value="en" lang="en">English</option>' in html
    with translation.override("en"):
        html = render_to_string("portal/language_switch.html", request=request)
    assert '<option value="en" lang="en" selected>English</option>' in html


def _po_entries(path: Path) -> list[dict]:
    """The entries of a .po file: {"flags", "msgid", "msgid_plural", "msgstr[...]": str}."""
    entries, entry, key = [], None, None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip() or line.startswith("#~"):
            if entry and "msgid" in entry:
                entries.append(entry)
            entry = None
            continue
        entry = entry if entry is not None else {"flags": ""}
        if line.startswith("#,"):
            entry["flags"] += line
        elif not line.startswith("#"):
            match = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+(".*")$', line)
            if match:
                key = match.group(1)
                entry[key] = ast.literal_eval(match.group(2))
            else:
                entry[key] += ast.literal_eval(line)
    return entries


def test_every_message_is_translated_and_compiled():
    entries = [e for e in _po_entries(CATALOGUE / "django.po") if e["msgid"]]
    assert len(entries) > 400
    untranslated = [
        e["msgid"]
        for e in entries
        if "fuzzy" in e["flags"]
        or not all(v for k, v in e.items() if k.startswith("msgstr"))
        or ("msgid_plural" in e and not {"msgstr[0]", "msgstr[1]"} <= e.keys())
    ]
    assert untranslated == []
    # The compiled catalogue is the one Django loads: it must hold every message of the .po.
    with open(CATALOGUE / "django.mo", "rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    for e in entries:
        msgid = e["msgid"] if "msgctxt" not in e else f"{e['msgctxt']}\x04{e['msgid']}"
        if "msgid_plural" in e:
            assert compiled.ngettext(msgid, e["msgid_plural"], 1) == e["msgstr[0]"], msgid
            assert compiled.ngettext(msgid, e["msgid_plural"], 2) == e["msgstr[1]"], msgid
        else:
            assert compiled.gettext(msgid) == e["msgstr"], msgid


def test_context_and_plurals_in_english():
    with translation.override("en"):
        assert translation.pgettext("doble factor", "Email") == "Email"
        assert translation.gettext("Extensión webfon") == "Webfon extension"
        assert translation.gettext("Centralita") == "PBX"
        assert (
            translation.ngettext("%(counter)s usuario", "%(counter)s usuarios", 2) % {"counter": 2}
            == "2 users"
        )
