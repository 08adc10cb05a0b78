"""A change that asks for a push is saved and answered normally even when the push cannot be
sent: the broker is down (a private redis-server, stopped), or, in the embedded default
where the task runs inside the request, the node does not answer. The push stays queued,
the page and the API say so, and it goes out later (the beat's sweep; in the embedded
default the next change or "Aplicar")."""

import pytest
import redis

from nodes.models import Node, Push
from tests.factories import NodeFactory
from tests.integration.ssh_server import free_port

# The on-commit callbacks that dispatch pushes run only on a real commit.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def broker_down(celery_mode, private_redis, queue, settings):
    celery_mode(eager=False)
    settings.PUSH_PENDING_GRACE_SECONDS = 0
    private_redis.kill()
    return private_redis


@pytest.fixture
def browser(browser_for):
    return browser_for()


def webrtc_fields(name: str, corporate: Node, ssh_port: int) -> dict:
    """A WebRTC node whose SSH port on loopback refuses connections."""
    return {
        "name": name,
        "kind": "webrtc",
        "transport": "ssh",
        "address": "127.0.0.1",
        "ssh_port": ssh_port,
        "domain": "meet.example",
        "local_ip": "192.0.2.31",
        "corporate_node": corporate.pk,
    }


def only_push(name: str) -> Push:
    (push,) = Push.objects.filter(node__name=name)
    return push


def test_api_with_the_broker_down_answers_201_and_the_sweep_sends_the_push(api, broker_down, queue):
    corporate = NodeFactory(name="corp")
    response = api.post("/api/v1/nodes/", webrtc_fields("meet", corporate, free_port()))
    assert response.status_code == 201, response.content
    push = only_push("meet")
    assert response.json()["last_push"] == {"id": push.pk, "status": "queued"}
    assert push.status == "pending"
    assert push.steps[-1]["step"] == "dispatch" and not push.steps[-1]["ok"]
    assert "queda en cola" in push.detail and "OperationalError" in push.detail
    assert Node.objects.filter(name="meet").exists()  # the change is saved
    # The same answer for an update, and for "Aplicar" (which joins the queued push).
    node = Node.objects.get(name="meet")
    assert api.patch(f"/api/v1/nodes/{node.pk}/", {"domain": "meet2.example"}).status_code == 200
    aplicar = api.post(f"/api/v1/nodes/{node.pk}/push/")
    assert aplicar.status_code == 202 and aplicar.json()["status"] == "queued"
    assert Push.objects.filter(node=node).count() == 1

    # The broker comes back: the beat's sweep (run here) sends the push again.
    from nodes.tasks import push_sweep

    broker_down.start()
    assert push_sweep.apply().get() == 1
    assert redis.Redis.from_url(broker_down.url).llen(queue) == 1


def test_page_with_the_broker_down_saves_and_says_the_push_is_pending(browser, broker_down):
    corporate = NodeFactory(name="corp")
    response = browser.post(
        "/nodos/nuevo/", webrtc_fields("meet", corporate, free_port()), follow=True
    )
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/nodos/"
    page = response.content.decode()
    push = only_push("meet")
    assert f"El envío #{push.pk} a meet está en cola." in page
    assert "se reenviará automáticamente" in page
    node = Node.objects.get(name="meet")
    response = browser.post(f"/nodos/{node.pk}/enviar/", follow=True)
    assert "está en cola" in response.content.decode()


def test_embedded_default_with_an_unreachable_node(api, browser, celery_mode):
    celery_mode(eager=True)
    corporate = NodeFactory(name="corp")
    closed = free_port()
    response = api.post("/api/v1/nodes/", webrtc_fields("meet", corporate, closed))
    assert response.status_code == 201, response.content
    push = only_push("meet")
    assert response.json()["last_push"] == {"id": push.pk, "status": "queued"}
    assert (push.status, push.attempts) == ("pending", 1)
    assert push.steps[-1]["step"] == "connect" and not push.steps[-1]["ok"]
    assert "nodo inalcanzable" in push.detail and "Aplicar" in push.detail

    # Nothing retries it in the background: "Aplicar" joins the queued push and sends it.
    node = Node.objects.get(name="meet")
    assert api.post(f"/api/v1/nodes/{node.pk}/push/").status_code == 202
    push.refresh_from_db()
    assert (push.status, push.attempts) == ("pending", 2)

    # The page: saved, and the push announced as pending with the reason.
    response = browser.post("/nodos/nuevo/", webrtc_fields("meet2", corporate, closed), follow=True)
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == "/nodos/"
    assert f"El envío #{only_push('meet2').pk} a meet2 está en cola." in page
    assert "nodo inalcanzable" in page
