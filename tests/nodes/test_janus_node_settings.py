"""A WebRTC node's janus media and NAT settings and its TURN settings (issue #16 points 2, 3
and 6): refused at write time with a Spanish message naming the field and the rule, the same
way through the services, the form and the API; nothing saved, no push asked for."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from core.roles import ROLE_ADMIN
from nodes.models import Node, Push
from nodes.services import node_update
from tests.factories import StaffUserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def node(make_webrtc_node):
    return make_webrtc_node()


def row(node) -> dict:
    return Node.objects.filter(pk=node.pk).values().get()


def refused(actor, node, **changes) -> dict[str, list[str]]:
    before, pushes = row(node), Push.objects.count()
    with pytest.raises(ValidationError) as exc:
        node_update(actor=actor, node=node, **changes)
    assert row(node) == before and Push.objects.count() == pushes
    return exc.value.message_dict


# --- the RTP range and the firewall's public UDP range ----------------------------------------


def rtp_range_rule_holds(low: int, high: int, fw_low: int, fw_high: int) -> bool:
    """The rule, written independently of the model."""
    return (
        1024 <= low < high <= 65535
        and 1 <= fw_low <= fw_high <= 65535
        and fw_low <= low
        and high <= fw_high
    )


@hypothesis_settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    low=st.integers(0, 70000),
    high=st.integers(0, 70000),
    fw_low=st.sampled_from([1, 10000, 20000, 20500]),
    fw_high=st.sampled_from([20999, 30000, 65535, 19999]),
)
def test_the_rtp_range_is_accepted_exactly_when_ordered_in_bounds_and_inside_the_firewall(
    webrtc_fields, low, high, fw_low, fw_high
):
    node = Node(
        name="meet",
        kind="webrtc",
        **webrtc_fields,
        janus_rtp_port_min=low,
        janus_rtp_port_max=high,
        firewall_udp_min=fw_low,
        firewall_udp_max=fw_high,
    )
    try:
        node.full_clean(validate_unique=False)
    except ValidationError as exc:
        assert not rtp_range_rule_holds(low, high, fw_low, fw_high), exc.message_dict
        fields = set(exc.message_dict)
        assert fields <= {
            "janus_rtp_port_min",
            "janus_rtp_port_max",
            "firewall_udp_max",
        }, exc.message_dict
    else:
        assert rtp_range_rule_holds(low, high, fw_low, fw_high)


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        (
            {"janus_rtp_port_min": 20000, "janus_rtp_port_max": 40000},
            "janus_rtp_port_max",
            ["20000-40000", "20000:20999", "cortafuegos", "cambie"],
        ),
        (
            {"janus_rtp_port_min": 10000, "janus_rtp_port_max": 10999},
            "janus_rtp_port_min",
            ["10000-10999", "20000:20999", "media.rtp_port_range"],
        ),
        (
            {"janus_rtp_port_min": 20500, "janus_rtp_port_max": 20100},
            "janus_rtp_port_max",
            ["20100", "mayor que el mínimo 20500"],
        ),
        ({"janus_rtp_port_min": 80}, "janus_rtp_port_min", ["1024"]),
        ({"firewall_udp_min": 21000}, "firewall_udp_max", ["20999", "21000"]),
    ],
)
def test_a_bad_rtp_range_is_refused_naming_field_and_rule(actor, node, changes, field, words):
    errors = refused(actor, node, **changes)
    assert field in errors, errors
    for word in words:
        assert word in errors[field][0], errors[field][0]


def test_widening_the_firewall_range_lets_the_janus_range_in_and_pushes(actor, node):
    node_update(
        actor=actor,
        node=node,
        firewall_udp_min=20000,
        firewall_udp_max=40000,
        janus_rtp_port_min=20000,
        janus_rtp_port_max=40000,
    )
    node.refresh_from_db()
    assert (node.janus_rtp_port_min, node.janus_rtp_port_max) == (20000, 40000)
    assert Push.objects.filter(node=node, status="pending").exists()


# --- NAT ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("address", ["192.0.2.10", "2001:db8::10", "203.0.113.7"])
def test_a_public_address_v4_or_v6_is_accepted(actor, node, address):
    node_update(actor=actor, node=node, nat_1_1_mapping=address, nat_keep_private_host=True)
    assert Node.objects.get(pk=node.pk).nat_1_1_mapping == address


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("nat_1_1_mapping", "192.0.2.300", ["192.0.2.300", "IPv4 ni IPv6"]),
        ("nat_1_1_mapping", "meet.example.org", ["meet.example.org", "IPv4"]),
        ("nat_1_1_mapping", "192.0.2.1,192.0.2.2", ["IPv4"]),
        ("stun_server", "stun example", ["dominio"]),
        ("stun_port", 0, ["1"]),
        ("stun_port", 70000, ["65535"]),
        ("ice_enforce_list", "eth0, eth1", ["eth0, eth1", "comas"]),
        ("ice_enforce_list", "eth0;rm", ["comas"]),
        ("nat_keep_private_host", True, ["nat_1_1_mapping"]),
    ],
)
def test_bad_nat_values_are_refused_naming_the_value_and_rule(actor, node, field, value, words):
    errors = refused(actor, node, **{field: value})
    message = errors[field][0]
    for word in words:
        assert word in message, message


# --- TURN ---------------------------------------------------------------------------------------

GOOD_URIS = [
    "turn:turn.example.org",
    "turn:turn.example.org:3478?transport=udp",
    "turns:turn.example.org:5349?transport=tcp",
    "turn:192.0.2.10:3478",
    "turn:[2001:db8::10]:3478",
    "turn:a.example.org\nturns:b.example.org:443",
    "turn:a.example.org, turns:b.example.org:443",
]
BAD_URIS = [
    "stun:turn.example.org",
    "http://turn.example.org",
    "turn:",
    "turn:turn.example.org:99999",
    "turn:turn.example.org?transport=sctp",
    "turn://turn.example.org",
    "turn:bad host",
]


@pytest.mark.parametrize("uris", GOOD_URIS)
def test_turn_uris_are_accepted(actor, node, uris):
    node_update(actor=actor, node=node, turn_uris=uris, turn_secret="s3cret-turn")


@pytest.mark.parametrize("uris", BAD_URIS)
def test_a_bad_turn_uri_is_refused_naming_it(actor, node, uris):
    errors = refused(actor, node, turn_uris=uris, turn_secret="s3cret-turn")
    message = errors["turn_uris"][0]
    assert "URI TURN" in message and "turn:host" in message, message


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"turn_uris": "turn:turn.example.org"}, "turn_secret"),
        ({"coturn_managed": True}, "turn_secret"),
        ({"turn_secret": "con espacio"}, "turn_secret"),
        ({"turn_secret": "con#almohadilla"}, "turn_secret"),
        ({"turn_secret": "x", "turn_min_port": 60100, "turn_max_port": 60000}, "turn_max_port"),
        (
            {"turn_secret": "x", "coturn_managed": True, "turn_min_port": 20500},
            "turn_min_port",
        ),
        ({"turn_secret": "x", "coturn_managed": True, "turn_tls": True}, "turn_cert_path"),
        ({"turn_credential_lifetime": 30}, "turn_credential_lifetime"),
        ({"turn_external_ip": "not-an-ip"}, "turn_external_ip"),
        ({"turn_listening_ip": "192.0.2.300"}, "turn_listening_ip"),
        ({"turn_listening_ip": "0.0.0.0\nrelay-ip=203.0.113.1"}, "turn_listening_ip"),
    ],
)
def test_bad_turn_settings_are_refused(actor, node, changes, field):
    errors = refused(actor, node, **changes)
    assert field in errors, errors


def test_a_turn_secret_is_never_in_a_message(actor, node):
    errors = refused(actor, node, turn_secret="secreto con espacio")
    assert "secreto con espacio" not in str(errors)


# --- the same rules through the API and the form ------------------------------------------------


def test_the_api_refuses_a_janus_range_outside_the_firewall_and_saves_nothing(api, node):
    before = row(node)
    answer = api.patch(
        f"/api/v1/nodes/{node.pk}/",
        {"janus_rtp_port_min": 20000, "janus_rtp_port_max": 40000},
        format="json",
    )
    assert answer.status_code == 400
    assert "20000:20999" in answer.json()["janus_rtp_port_max"][0]
    assert row(node) == before
    fine = api.patch(
        f"/api/v1/nodes/{node.pk}/",
        {
            "nat_1_1_mapping": "2001:db8::10",
            "stun_server": "stun.example.org",
            "stun_port": 3479,
            "ice_enforce_list": "eth0,eth1",
            "turn_uris": "turn:meet.example.org:3478?transport=udp",
            "turn_secret": "s3cret-turn",
        },
        format="json",
    )
    assert fine.status_code == 200, fine.json()
    body = fine.json()
    assert body["nat_1_1_mapping"] == "2001:db8::10" and body["stun_port"] == 3479
    assert "turn_secret" not in body and "s3cret-turn" not in fine.content.decode()
    shown = api.get(f"/api/v1/nodes/{node.pk}/")
    assert "turn_secret" not in shown.json() and "s3cret-turn" not in shown.content.decode()
    assert Node.objects.get(pk=node.pk).turn_secret == "s3cret-turn"


def test_the_turn_secret_is_encrypted_at_rest(actor, node):
    from django.db import connection

    node_update(actor=actor, node=node, turn_secret="s3cret-turn-plain")
    with connection.cursor() as cursor:
        cursor.execute("SELECT turn_secret FROM nodes_node WHERE id = %s", [node.pk])
        (stored,) = cursor.fetchone()
    assert stored and "s3cret-turn-plain" not in stored


def test_the_form_refuses_it_and_saves_nothing(node, node_form_data):
    client = Client()
    client.force_login(StaffUserFactory(role=ROLE_ADMIN))
    before = row(node)
    answer = client.post(
        f"/nodos/{node.pk}/",
        node_form_data(node, janus_rtp_port_min=20000, janus_rtp_port_max=40000),
    )
    assert answer.status_code == 400
    html = answer.content.decode()
    assert "20000:20999" in html and "cortafuegos" in html
    assert row(node) == before
    saved = client.post(
        f"/nodos/{node.pk}/",
        node_form_data(node, nat_1_1_mapping="192.0.2.10", nat_keep_private_host=True),
    )
    assert saved.status_code == 302, saved.content.decode()[:2000]
    assert Node.objects.get(pk=node.pk).nat_keep_private_host is True


# One refused value of each group, through the form and the API alike.
BY_EVERY_WAY = [
    (
        {"janus_rtp_port_min": 20000, "janus_rtp_port_max": 40000},
        "janus_rtp_port_max",
        "20000:20999",
    ),
    ({"nat_1_1_mapping": "192.0.2.300"}, "nat_1_1_mapping", "IPv4 ni IPv6"),
    ({"ice_enforce_list": "eth0 eth1"}, "ice_enforce_list", "comas"),
    ({"stun_port": 70000}, "stun_port", "65535"),
    ({"turn_uris": "stun:turn.example.org", "turn_secret": "x"}, "turn_uris", "URI TURN"),
    ({"turn_uris": "turn:turn.example.org"}, "turn_secret", "secreto compartido TURN"),
    ({"turn_secret": "con espacio"}, "turn_secret", "sin espacios"),
    ({"jcfg_check_command": "janus-cfgconv %s %s"}, "jcfg_check_command", "como mucho un"),
    ({"fail2ban_check_command": "fail2ban-client -t 100%"}, "fail2ban_check_command", "«%»"),
]


@pytest.mark.parametrize(("changes", "field", "words"), BY_EVERY_WAY)
def test_the_api_refuses_each_rule_naming_the_field(api, node, changes, field, words):
    before, pushes = row(node), Push.objects.count()
    answer = api.patch(f"/api/v1/nodes/{node.pk}/", changes, format="json")
    assert answer.status_code == 400, answer.content
    assert words in answer.json()[field][0]
    assert "con espacio" not in answer.content.decode()
    assert row(node) == before and Push.objects.count() == pushes


@pytest.mark.parametrize(("changes", "field", "words"), BY_EVERY_WAY)
def test_the_form_refuses_each_rule_and_saves_nothing(node, node_form_data, changes, field, words):
    client = Client()
    client.force_login(StaffUserFactory(role=ROLE_ADMIN))
    before = row(node)
    answer = client.post(f"/nodos/{node.pk}/", node_form_data(node, **changes))
    assert answer.status_code == 400
    html = answer.content.decode()
    assert words in html and "con espacio" not in html
    assert row(node) == before


def test_the_form_keeps_the_turn_secret_when_left_empty(node, node_form_data):
    client = Client()
    client.force_login(StaffUserFactory(role=ROLE_ADMIN))
    data = {"turn_uris": "turn:turn.example.org", "turn_secret": "s3cret-turn"}
    assert client.post(f"/nodos/{node.pk}/", node_form_data(node, **data)).status_code == 302
    page = client.get(f"/nodos/{node.pk}/").content.decode()
    assert "s3cret-turn" not in page
    again = client.post(f"/nodos/{node.pk}/", node_form_data(node, turn_credential_lifetime=900))
    assert again.status_code == 302
    saved = Node.objects.get(pk=node.pk)
    assert (saved.turn_secret, saved.turn_credential_lifetime) == ("s3cret-turn", 900)
