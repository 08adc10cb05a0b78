"""A push's outcome is recorded untranslated and read in the reader's language (#19): the
worker writes it in the default language, an administrator who chose English reads it in
English on the push's page, the history and the API."""

import pytest
from django.utils import translation

from nodes.models import Push
from nodes.push import ManagedFile, push_execute
from nodes.tasks import push_node
from tests.factories import WebrtcNodeFactory
from tests.nodes.fake_node import fake_node_settings, make_fake_node

pytestmark = pytest.mark.django_db

JANUS = "/etc/janus/janus.jcfg"


def _files(check: str = ""):
    def files(_node):
        return [ManagedFile(path=JANUS, daemon="janus", render=lambda _old: "new\n", check=check)]

    return files


def _local_node(tmp_path, **fields):
    root = make_fake_node(tmp_path / "node")
    (root / "etc/janus").mkdir(parents=True)
    (root / "etc/janus/janus.jcfg").write_text("old\n")
    return root, WebrtcNodeFactory(transport="local", local_root=str(root), **fields)


def rolled_back(tmp_path):
    root, node = _local_node(tmp_path)
    (root / "fail-janus-status").touch()  # fails, and fails again after the rollback
    push = Push.objects.create(node=node, reasons=["test"])
    push_execute(push_id=push.pk, files_for=_files())
    return push


def check_failed(tmp_path):
    root, node = _local_node(tmp_path)
    (root / "fail-janus-status").touch()
    push = Push.objects.create(node=node, reasons=["test"])
    push_execute(push_id=push.pk, files_for=_files(check="/etc/init.d/janus status"))
    return push


def refused(tmp_path):
    _root, node = _local_node(tmp_path)
    # Written past the model's rule (as an older row or a changed deployment would be).
    type(node).objects.filter(pk=node.pk).update(local_root="/")
    push = Push.objects.create(node=node, reasons=["test"])
    push_execute(push_id=push.pk, files_for=_files())
    return push


def unchanged(tmp_path):
    _root, node = _local_node(tmp_path)
    push = Push.objects.create(node=node, reasons=["test"])
    push_execute(push_id=push.pk, files_for=lambda _node: [])
    return push


def unreachable(tmp_path):
    # Nothing listens on the discard port: the embedded default leaves the push pending.
    settings = fake_node_settings(make_fake_node(tmp_path / "node"))
    node = WebrtcNodeFactory(
        transport="ssh", address="127.0.0.1", ssh_port=9, ssh_user="portal", **settings
    )
    push = Push.objects.create(node=node, reasons=["test"])
    assert push_node.apply(args=[push.pk]).get() == "pending"
    return push


# Each outcome: how to bring it about, then words of its Spanish and English texts.
OUTCOMES = {
    "rolled_back": (
        rolled_back,
        ["código 1", "se restauró la configuración anterior", "también falló"],
        ["exit code 1", "the previous configuration was restored", "failed too"],
    ),
    "check_failed": (
        check_failed,
        ["comprobación fallida en el nodo", "código 1", "no se cambió ningún fichero"],
        ["check failed on the node", "exit code 1", "no file was changed"],
    ),
    "refused": (
        refused,
        ["envío rechazado", "no está dentro de LOCAL_NODES_DIR"],
        ["push refused", "is not inside LOCAL_NODES_DIR"],
    ),
    "unchanged": (unchanged, ["sin cambios"], ["no changes"]),
    "unreachable": (
        unreachable,
        ["nodo inalcanzable", "no se puede conectar con 127.0.0.1:9", "queda en cola"],
        ["node unreachable", "cannot connect to 127.0.0.1:9", "stays queued"],
    ),
}


@pytest.fixture(params=sorted(OUTCOMES))
def outcome(request, tmp_path, local_nodes_dir):
    make, spanish, english = OUTCOMES[request.param]
    push = make(tmp_path)
    push.refresh_from_db()
    return push, spanish, english


@pytest.fixture
def english(browser_for):
    client = browser_for()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    yield client
    translation.deactivate()


def test_stored_in_the_default_language_and_read_in_the_active_one(outcome):
    push, spanish, english = outcome
    assert push.detail_message is not None
    assert all(words in push.detail for words in spanish), push.detail
    assert push.detail_text == push.detail
    with translation.override("en"):
        text = push.detail_text
        steps = push.step_records
    assert all(words in text for words in english), text
    assert not any(words in text for words in spanish), text
    assert all(isinstance(step["detail"], str) for step in steps)


def test_english_on_the_pages_and_in_the_api(outcome, english):
    push, spanish, words = outcome
    pages = [
        english.get(f"/nodos/envios/{push.pk}/").content.decode(),
        english.get("/nodos/envios/").content.decode(),
    ]
    answer = english.get(f"/api/v1/pushes/{push.pk}/").json()
    for shown in [*pages, answer["detail"]]:
        assert words[0] in shown
        assert spanish[0] not in shown
    assert all(words in answer["detail"] for words in words)
    assert all(isinstance(step["detail"], str) for step in answer["steps"])


def test_spanish_for_a_spanish_reader(outcome, browser_for):
    push, spanish, english = outcome
    page = browser_for().get(f"/nodos/envios/{push.pk}/").content.decode()
    assert spanish[0] in page and english[0] not in page


def test_rows_from_before_keep_their_text(tmp_path, local_nodes_dir):
    _root, node = _local_node(tmp_path)
    push = Push.objects.create(
        node=node, status="failed", detail="texto de antes", steps=[{"step": "x", "detail": "y"}]
    )
    with translation.override("en"):
        assert push.detail_text == "texto de antes"
        assert push.step_records[0]["detail"] == "y"
