"""core.i18n: messages recorded untranslated (msgid + parameters) and translated when read."""

import ast
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from core.i18n import Message, message_data, message_scrub, message_text
from nodes.rendering.masking import MASK, scrub
from nodes.transport import TransportError
from tests.portal.test_i18n import CATALOGUE, _po_entries

BASE = Path(settings.BASE_DIR)
APPS = ["accounts", "bulk", "core", "extensions", "licensing", "nodes", "portal", "users", "webfon"]


def test_translated_when_it_becomes_text():
    message = Message("envío rechazado: %(error)s", error=Message("orden vacía"))
    assert str(message) == "envío rechazado: orden vacía"
    with translation.override("en"):
        assert str(message) == "push refused: empty command"


def test_an_exception_carries_its_message():
    exc = TransportError(Message("no se puede leer %(path)s: %(error)s", path="/x", error="E"))
    data = message_data(Message("nodo inalcanzable: %(error)s", error=exc))
    assert json.loads(json.dumps(data)) == data
    with translation.override("en"):
        assert str(exc) == "cannot read /x: E"
        assert message_text(data) == "node unreachable: cannot read /x: E"
    assert message_text(data) == "nodo inalcanzable: no se puede leer /x: E"


def test_plain_values_stay_as_they_are():
    assert message_data(OSError("Connection refused")) == "Connection refused"
    assert message_data(7) == 7 and message_data(True) == "True"
    assert message_text("texto de antes") == "texto de antes"
    assert message_text(None) == ""
    data = message_data(
        Message("%(command)s → código %(code)s: %(output)s", command="x", code=2, output="")
    )
    assert data["params"]["code"] == 2


# Any text as a parameter (a command's output, an OS error): % signs, accents, newlines.
@given(
    st.text(max_size=40),
    st.text(max_size=40),
    st.integers(min_value=-(2**31), max_value=2**31),
)
def test_stored_and_read_back_gives_the_same_text(output, path, code):
    inner = Message("no se puede escribir %(path)s: %(error)s", path=path, error=output)
    message = Message("%(failure)s; se restauró la configuración anterior", failure=inner)
    for language in ("es", "en"):
        with translation.override(language):
            data = json.loads(json.dumps(message_data(message)))
            assert message_text(data) == str(message)
    command = Message(
        "%(command)s → código %(code)s: %(output)s", command=path, code=code, output=output
    )
    assert message_text(json.loads(json.dumps(message_data(command)))).startswith(path)


@given(st.text(min_size=8, max_size=20, alphabet="abcdefghijklmnopqrstuvwxyz0123456789"))
def test_every_text_it_holds_is_scrubbed(secret):
    message = Message(
        "%(failure)s; se restauró la configuración anterior",
        failure=Message("no se puede leer %(path)s: %(error)s", path=f"/x/{secret}", error=secret),
    )
    data = message_scrub(message_data(message), [secret], scrub)
    assert secret not in json.dumps(data)
    assert MASK in message_text(data)


def _literal_msgids() -> list[str]:
    """The msgid of every ``Message("...")`` call of the apps."""
    msgids = []
    for app in APPS:
        for path in (BASE / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id == "Message"
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                ):
                    msgids.append(node.args[0].value)
    return msgids


def test_every_recorded_message_is_in_the_catalogue():
    msgids = _literal_msgids()
    assert len(msgids) > 30
    translated = {e["msgid"]: e.get("msgstr") for e in _po_entries(CATALOGUE / "django.po")}
    assert [m for m in msgids if not translated.get(m)] == []


def test_makemessages_extracts_message_calls(tmp_path, monkeypatch, settings):
    """The project's makemessages adds ``Message`` to xgettext's keywords (Django documents
    extending ``xgettext_options``): a new message reaches the catalogue like ``_()``."""
    (tmp_path / "locale").mkdir()
    (tmp_path / "sample.py").write_text(
        'from core.i18n import Message\n\nm = Message("una prueba %(x)s", x=1)\n'
        'n = Message("dos " "partes")\n'
    )
    settings.LOCALE_PATHS = [str(tmp_path / "locale")]
    monkeypatch.chdir(tmp_path)
    call_command("makemessages", locale=["en"], verbosity=0)
    po = (tmp_path / "locale/en/LC_MESSAGES/django.po").read_text()
    assert 'msgid "una prueba %(x)s"' in po and 'msgid "dos partes"' in po


@pytest.fixture(autouse=True)
def _default_language():
    yield
    translation.deactivate()
