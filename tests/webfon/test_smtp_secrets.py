"""The SMTP password goes only where it was entered for, and never in clear unless the node
says so: real SMTP servers (aiosmtpd) offering AUTH without STARTTLS record every login they
receive, for the webfon PIN e-mails and for "Probar SMTP" (page and service)."""

import pytest
from django.test import Client

from core.models import AuditEntry
from nodes.models import Node
from nodes.services import node_smtp_test, node_update
from tests.webfon.smtp_server import start_smtp_server
from users.models import PortalUser

pytestmark = pytest.mark.django_db

USER, PASSWORD = "pins@example.org", "smtp-clave-ZQ"
NO_TLS = "no ofrece STARTTLS ni SMTPS: no se envía la contraseña sin cifrar"
AGAIN = "vuelva a introducir para el nuevo destino"


@pytest.fixture
def server():
    """AUTH offered on a plain connection, no STARTTLS: what the rule is about."""
    controller, mailbox = start_smtp_server(auth=True)
    yield controller, mailbox
    controller.stop()


@pytest.fixture
def make_node(make_webrtc_node):
    def _make(controller, **fields) -> Node:
        return make_webrtc_node(
            smtp_host=controller.hostname,
            smtp_port=controller.port,
            smtp_user=USER,
            smtp_password=PASSWORD,
            **fields,
        )

    return _make


@pytest.fixture
def email_user(make_user):
    return make_user(second_factor=PortalUser.SecondFactor.EMAIL, email="agente@example.org")


def probar_smtp(client: Client, node: Node) -> str:
    response = client.post(f"/nodos/{node.pk}/diagnostico/smtp/", {"to": "soporte@example.org"})
    assert response.status_code == 200
    return response.content.decode()


# --- no TLS: AUTH refused unless the node opts in ----------------------------------------------


def test_probar_smtp_refuses_auth_without_tls(server, make_node, actor, browser_for):
    controller, mailbox = server
    node = make_node(controller)
    page = probar_smtp(browser_for(), node)
    assert NO_TLS in page and f"127.0.0.1:{controller.port}" in page
    assert PASSWORD not in page
    result = node_smtp_test(actor=actor, node=node, to="soporte@example.org")
    assert not result.ok and NO_TLS in result.error
    assert mailbox.logins == [] and mailbox.messages == []
    assert AuditEntry.objects.filter(action="node.smtp_test").count() == 2


def test_pin_email_refuses_auth_without_tls(server, make_node, email_user, login):
    controller, mailbox = server
    make_node(controller)
    answer = login(email_user.account)
    assert (answer.status_code, answer.json()["reason"]) == (409, "second_factor_unavailable")
    assert "No se pudo enviar el PIN" in answer.json()["detail"]
    assert mailbox.logins == [] and mailbox.messages == []


def test_the_nodes_explicit_opt_in_allows_it(
    server, make_node, email_user, login, api, browser_for
):
    controller, mailbox = server
    node = make_node(controller)
    # Set through the API, as an integrator would (the form has the same field).
    answer = api.patch(f"/api/v1/nodes/{node.pk}/", {"smtp_plaintext_auth": True}, format="json")
    assert answer.status_code == 200 and answer.json()["smtp_plaintext_auth"] is True
    page = probar_smtp(browser_for(), node)
    assert "El servidor aceptó el correo." in page and PASSWORD not in page
    assert login(email_user.account).json()["status"] == "pin_required"
    assert mailbox.logins == [(USER, PASSWORD), (USER, PASSWORD)]
    assert len(mailbox.messages) == 2


def test_without_a_user_nothing_secret_is_sent_and_no_tls_is_needed(server, make_node, actor):
    controller, mailbox = server
    node = make_node(controller)
    node = node_update(actor=actor, node=node, smtp_user="")
    assert node_smtp_test(actor=actor, node=node, to="soporte@example.org").ok
    assert mailbox.logins == [] and len(mailbox.messages) == 1


def test_the_form_offers_the_opt_in(browser_for):
    page = browser_for().get("/nodos/nuevo/").content.decode()
    assert 'name="smtp_plaintext_auth"' in page
    assert "permitir autenticación smtp sin tls" in page.lower()


# --- a changed SMTP server: the stored password is not sent there ------------------------------


@pytest.fixture
def other_host(server):
    """The same kind of server on another host, same port."""
    controller, mailbox = start_smtp_server(auth=True, host="127.0.0.2", port=server[0].port)
    yield controller, mailbox
    controller.stop()


@pytest.fixture
def other_port():
    controller, mailbox = start_smtp_server(auth=True)
    yield controller, mailbox
    controller.stop()


@pytest.fixture(params=["host", "port"])
def moved(request, server, other_host, other_port, make_node):
    """A node whose password was entered for ``server``, and the destination it moves to."""
    node = make_node(server[0], smtp_plaintext_auth=True)  # only the destination rule matters
    target = other_host if request.param == "host" else other_port
    change = {"smtp_host": target[0].hostname, "smtp_port": target[0].port}
    return node, change, target[1], server[1]


def test_probar_smtp_after_changing_the_server_in_the_form(moved, node_form_data, browser_for):
    node, change, new_box, old_box = moved
    client = browser_for()
    saved = client.post(f"/nodos/{node.pk}/", node_form_data(node, **change), follow=True)
    assert saved.status_code == 200 and AGAIN in saved.content.decode()
    page = probar_smtp(browser_for(), node)
    assert AGAIN in page and "Contraseña SMTP" in page
    assert new_box.logins == [] and new_box.connections == 0
    # Entered again in the same save as the server: it goes there.
    data = node_form_data(node, **change, smtp_password=PASSWORD)
    saved = client.post(f"/nodos/{node.pk}/", data, follow=True)
    assert AGAIN not in saved.content.decode()
    assert "El servidor aceptó el correo." in probar_smtp(browser_for(), node)
    assert new_box.logins == [(USER, PASSWORD)] and old_box.logins == []


def test_pin_email_after_changing_the_server_through_the_api(moved, api, email_user, login):
    node, change, new_box, _old_box = moved
    answer = api.patch(f"/api/v1/nodes/{node.pk}/", change, format="json")
    assert answer.status_code == 200
    assert AGAIN in answer.json()["secret_warnings"]["smtp_password"]
    refused = login(email_user.account)
    assert (refused.status_code, refused.json()["reason"]) == (409, "second_factor_unavailable")
    assert new_box.logins == [] and new_box.connections == 0
    api.patch(f"/api/v1/nodes/{node.pk}/", {**change, "smtp_password": PASSWORD}, format="json")
    assert login(email_user.account).json()["status"] == "pin_required"
    assert new_box.logins == [(USER, PASSWORD)] and len(new_box.messages) == 1


def test_smtp_test_service_after_changing_the_server(moved, actor):
    node, change, new_box, _old_box = moved
    node = node_update(actor=actor, node=node, **change)
    result = node_smtp_test(actor=actor, node=node, to="soporte@example.org")
    assert not result.ok and AGAIN in result.error and result.transcript == []
    assert new_box.logins == [] and new_box.connections == 0
    entry = AuditEntry.objects.filter(action="node.smtp_test").latest("pk")
    assert entry.changes["ok"] is False and PASSWORD not in str(entry.changes)
