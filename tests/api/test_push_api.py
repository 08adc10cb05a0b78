"""GET /api/v1/nodes/{id}/preview/, POST /api/v1/nodes/{id}/push/, /api/v1/pushes/ (issue #6)."""

import pytest

from core.roles import ROLE_OPERATOR, ROLE_SALES
from nodes.models import Push

pytestmark = pytest.mark.django_db


@pytest.fixture
def node(local_webrtc_node):
    return local_webrtc_node(mysql_password="clave-mysql-secreta")


def test_preview_lists_rendered_files_and_diffs_without_writing(api, node, tmp_path):
    before = {p: p.read_bytes() for p in (tmp_path / "node").rglob("*") if p.is_file()}
    data = api.get(f"/api/v1/nodes/{node.pk}/preview/").json()
    assert data["ok"] and data["error"] == ""
    files = {f["path"]: f for f in data["files"]}
    plugin = files["/etc/janus/vivait.plugin.webfon.jcfg"]
    assert plugin["changed"] and plugin["diff"].startswith("---")
    assert f"local_nodo_id = {node.corporate_node_id}" in plugin["content"]
    assert any("labmeet.mdnova.local" in f["content"] for f in data["files"])
    assert "clave-mysql-secreta" not in str(data)
    after = {p: p.read_bytes() for p in (tmp_path / "node").rglob("*") if p.is_file()}
    assert after == before
    assert not Push.objects.exists()


def run_push(push_id: int) -> None:
    """Run the push here whatever the broker (the worker is tested in tests/integration)."""
    from nodes.config_files import node_managed_files
    from nodes.push import push_execute

    push_execute(push_id=push_id, files_for=node_managed_files)


def test_push_answers_the_push_and_the_history_shows_it(
    api, node, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        first = api.post(f"/api/v1/nodes/{node.pk}/push/")
    assert first.status_code == 202 and len(callbacks) == 1  # sent after commit
    push_id = first.json()["id"]
    assert first.json()["status"] == "queued"
    assert api.get("/api/v1/pushes/", {"status": "queued"}).json()["count"] == 1
    run_push(push_id)
    detail = api.get(f"/api/v1/pushes/{push_id}/").json()
    assert detail["status"] == "succeeded" and detail["node"] == node.pk
    assert detail["requested_by"].startswith("token:")
    assert detail["files_written"] and detail["steps"]
    second = api.post(f"/api/v1/nodes/{node.pk}/push/").json()
    run_push(second["id"])
    assert api.get(f"/api/v1/pushes/{second['id']}/").json()["status"] == "unchanged"
    listed = api.get("/api/v1/pushes/", {"node": node.pk, "status": "succeeded"}).json()
    assert [p["id"] for p in listed["results"]] == [push_id]
    assert api.get("/api/v1/pushes/", {"status": "queued"}).json()["count"] == 0
    assert api.get(f"/api/v1/nodes/{node.pk}/preview/").json()["files"][0]["changed"] is False


def test_roles(client_for, node):
    operator = client_for(ROLE_OPERATOR)
    assert operator.get("/api/v1/pushes/").status_code == 200
    assert operator.post(f"/api/v1/nodes/{node.pk}/push/").status_code == 403
    assert operator.get(f"/api/v1/nodes/{node.pk}/preview/").status_code == 403
    assert client_for(ROLE_SALES).get("/api/v1/pushes/").status_code == 403
    assert not Push.objects.exists()
