"""TURN for browsers (issue #16 point 3): a successful webfon login (and its PIN step) answers
``ice_servers`` with short-lived credentials of coturn's REST-API scheme; the shared secret is
never in an answer. coturn itself checks them in tests/integration/test_coturn_real.py."""

import base64
import hashlib
import hmac
import time

import pytest
import time_machine

from nodes.models import Node
from nodes.services import node_update

pytestmark = pytest.mark.django_db
PIN = "/api/v1/webfon/login/pin/"
SECRET = "s3cret-de-turn"
URIS = "turn:meet.example.org:3478?transport=udp\nturns:meet.example.org:5349?transport=tcp"


@pytest.fixture
def turn_node(make_webrtc_node):
    return make_webrtc_node(
        name="meet-turn", turn_uris=URIS, turn_secret=SECRET, turn_credential_lifetime=600
    )


def expected_credential(username: str, secret: str = SECRET) -> str:
    return base64.b64encode(
        hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    ).decode()


def test_without_turn_the_answer_has_no_ice_servers(login, make_user):
    body = login(make_user().account).json()
    assert body["status"] == "ok" and body["ice_servers"] == []


@pytest.mark.parametrize("lifetime", [60, 600, 3600, 86400])
def test_a_login_answers_turn_credentials_valid_for_the_lifetime(
    actor, login, make_user, turn_node, lifetime
):
    node_update(actor=actor, node=turn_node, turn_credential_lifetime=lifetime)
    user = make_user(account="agente.turn")
    now = int(time.time())
    with time_machine.travel(now, tick=False):  # a fixed clock: the expiry is exact
        answer = login(user.account)
    assert answer.status_code == 200, answer.json()
    (server,) = answer.json()["ice_servers"]
    assert server["urls"] == [
        "turn:meet.example.org:3478?transport=udp",
        "turns:meet.example.org:5349?transport=tcp",
    ]
    assert server["username"] == f"{now + lifetime}:agente.turn"
    assert server["credential"] == expected_credential(server["username"])
    assert SECRET not in answer.content.decode()


def test_the_pin_step_answers_them_too(login, webfon_client, email_user, smtp, turn_node):
    challenge = login(email_user.account).json()["challenge"]
    answer = webfon_client.post(PIN, {"challenge": challenge, "pin": smtp.last_pin()})
    assert answer.status_code == 200, answer.json()
    (server,) = answer.json()["ice_servers"]
    expiry, account = server["username"].split(":", 1)
    assert account == email_user.account
    assert abs(int(expiry) - (time.time() + 600)) < 60
    assert server["credential"] == expected_credential(server["username"])
    assert SECRET not in answer.content.decode()


def test_a_secret_entered_for_other_turn_servers_is_not_used(login, make_user, turn_node):
    """The URIs changed without the secret being entered again: no credentials are signed with
    it for servers it was not given for (the node's page says so)."""
    Node.objects.filter(pk=turn_node.pk).update(turn_uris="turn:other.example.net")
    body = login(make_user().account).json()
    assert body["status"] == "ok" and body["ice_servers"] == []
    node = Node.objects.get(pk=turn_node.pk)
    assert "turn_secret" in node.secret_warnings()


def test_every_webrtc_node_with_turn_is_offered(login, make_user, make_webrtc_node, turn_node):
    make_webrtc_node(name="meet-turn-2", turn_uris="turn:192.0.2.40", turn_secret="otro-secreto")
    servers = login(make_user().account).json()["ice_servers"]
    assert [s["urls"] for s in servers] == [
        URIS.split("\n"),
        ["turn:192.0.2.40"],
    ]
    assert servers[1]["credential"] == expected_credential(servers[1]["username"], "otro-secreto")
