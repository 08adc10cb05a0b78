"""Nodos: config diff before push, "Enviar configuración", and the push history pages."""

import pytest

from core.roles import ROLE_OPERATOR
from nodes.models import Push
from tests.nodes.fake_node import calls

pytestmark = pytest.mark.django_db


@pytest.fixture
def node(local_webrtc_node):
    return local_webrtc_node()


def test_preview_shows_the_diff_and_writes_nothing(node, tmp_path, browser_for):
    page = browser_for().get(f"/nodos/{node.pk}/cambios/").content.decode()
    assert (
        "/etc/janus/vivait.plugin.webfon.jcfg" in page
        and "local_ip = &quot;10.10.0.31&quot;" in page
    )
    assert "reinicia janus" in page
    assert not (tmp_path / "node/etc/janus").exists()
    assert not Push.objects.exists()


def test_push_button_runs_a_push_and_history_shows_it(
    node, tmp_path, django_capture_on_commit_callbacks, browser_for
):
    from nodes.config_files import node_managed_files
    from nodes.push import push_execute

    client = browser_for()
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(f"/nodos/{node.pk}/enviar/")
    assert response.status_code == 302 and len(callbacks) == 1  # the task is sent after commit
    push = Push.objects.get()
    # Run it here whatever the broker (the worker itself is tested in tests/integration).
    push_execute(push_id=push.pk, files_for=node_managed_files)
    push.refresh_from_db()
    assert push.status == "applied", push.detail
    assert calls(tmp_path / "node") == [
        "serCen restart",
        "serCen status",
        "janus restart",
        "janus status",
        "fail2ban restart",
        "fail2ban status",
    ]
    page = client.get(f"/nodos/{node.pk}/").content.decode()
    assert "Aplicado" in page and "«Aplicar» a mano" in page
    detail = client.get(f"/nodos/envios/{push.pk}/").content.decode()
    assert "janus.restart" in detail and "colas_limpiar_siempre" in detail
    page = client.get(f"/nodos/{node.pk}/cambios/").content.decode()
    assert "sin cambios" in page


def test_preview_of_an_unreachable_node_says_why(node, browser_for):
    from nodes.models import Node

    Node.objects.filter(pk=node.pk).update(transport="ssh", address="127.0.0.1", ssh_port=1)
    page = browser_for().get(f"/nodos/{node.pk}/cambios/").content.decode()
    assert "No se pudo leer la configuración del nodo" in page


def test_operador_sees_history_but_cannot_push_or_preview(node, browser_for):
    push = Push.objects.create(node=node, reasons=["x"])
    client = browser_for(ROLE_OPERATOR)
    assert client.get(f"/nodos/envios/{push.pk}/").status_code == 200
    assert client.post(f"/nodos/{node.pk}/enviar/").status_code == 403
    assert client.get(f"/nodos/{node.pk}/cambios/").status_code == 403
    assert Push.objects.count() == 1


def test_history_lists_every_push_with_who_and_its_bar(node, corporate, browser_for):
    from tests.factories import WebrtcNodeFactory

    other = WebrtcNodeFactory(name="meet2")
    done = Push.objects.create(
        node=node, reasons=["manual"], requested_by="ana", status="applied", detail=""
    )
    running = Push.objects.create(
        node=other,
        reasons=["user.update"],
        requested_by="",
        status="running",
        steps=[
            {"at": "2026-11-23T10:00:00", "step": "connect", "ok": True, "detail": ""},
            {"at": "2026-11-23T10:00:01", "step": "compare", "ok": True, "detail": "", "plan": 4},
            {"at": "2026-11-23T10:00:02", "step": "write", "ok": True, "detail": "/x"},
        ],
    )
    page = browser_for(ROLE_OPERATOR).get("/nodos/envios/").content.decode()
    assert page.index(f"push-progress-{running.pk}") < page.index(f"push-progress-{done.pk}")
    assert "ana" in page and "usuario cambiado" in page and "meet2" in page
    # A push of the page is running: the rows are fetched again (one request for the page).
    assert 'id="push-rows" hx-get="/nodos/envios/" hx-select="#push-rows"' in page
    assert "/progreso/" not in page  # not one request per row
    assert 'aria-valuenow="40"' in page  # 20 % + 80 % of 1 in 4 planned steps
    assert 'aria-valuenow="100"' in page
    only_running = browser_for().get("/nodos/envios/?status=running").content.decode()
    assert f"push-progress-{running.pk}" in only_running
    assert f"push-progress-{done.pk}" not in only_running
    by_node = browser_for().get(f"/nodos/envios/?node={node.pk}").content.decode()
    assert f"push-progress-{done.pk}" in by_node
    assert f"push-progress-{running.pk}" not in by_node
    assert "hx-trigger" not in by_node  # every push shown has finished: nothing to follow


def test_progress_fragment_follows_the_push_until_it_finishes(node, browser_for):
    push = Push.objects.create(node=node, reasons=["x"])
    client = browser_for(ROLE_OPERATOR)
    queued = client.get(f"/nodos/envios/{push.pk}/progreso/").content.decode()
    assert 'aria-valuenow="0"' in queued and "hx-trigger" in queued
    assert "espera a un trabajador" in queued
    Push.objects.filter(pk=push.pk).update(
        status="running",
        steps=[{"at": "2026-11-23T10:00:00", "step": "connect", "ok": True, "detail": ""}],
    )
    running = client.get(f"/nodos/envios/{push.pk}/progreso/").content.decode()
    assert 'aria-valuenow="10"' in running and "hx-trigger" in running and "connect" in running
    Push.objects.filter(pk=push.pk).update(status="rolled_back", detail="janus status → 1")
    finished = client.get(f"/nodos/envios/{push.pk}/progreso/?vista=fila").content.decode()
    assert 'aria-valuenow="100"' in finished and "hx-trigger" not in finished
    assert "Revertido" in finished and "janus status" not in finished  # the row shows no steps


def test_history_page_queries_do_not_grow_with_pushes(
    node, django_assert_max_num_queries, browser_for
):
    client = browser_for()
    running = {"status": "running", "steps": [{"step": "connect", "ok": True, "detail": ""}]}
    Push.objects.bulk_create(Push(node=node, reasons=["x"], **running) for _ in range(5))
    client.get("/nodos/envios/")  # warm the permission cache
    with django_assert_max_num_queries(8) as few:
        client.get("/nodos/envios/")
    Push.objects.bulk_create(Push(node=node, reasons=["x"], **running) for _ in range(45))
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/nodos/envios/")
