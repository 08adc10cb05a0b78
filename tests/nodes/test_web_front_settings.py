"""The web front settings of a WebRTC node (manual §3.2.4, §3.2.6, §3.2.7) refused at write
time, through the service, the API and the page alike, each message naming value and rule."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from nodes.models import Node
from nodes.services import node_update
from tests.factories import FIREWALL_SETTINGS, StaffUserFactory

pytestmark = pytest.mark.django_db


def refused(node, actor, **changes) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        node_update(actor=actor, node=node, **changes)
    return caught.value.message_dict


def test_a_complete_firewall_is_accepted(web_node, actor):
    node = node_update(actor=actor, node=web_node, **FIREWALL_SETTINGS)
    assert Node.objects.get(pk=node.pk).red_dmz == "192.0.2.192/27"


@pytest.mark.parametrize(
    "missing", ["eth_lan", "ip_lan", "red_lan", "eth_dmz", "ip_dmz", "red_dmz"]
)
def test_every_variable_is_needed_when_the_firewall_is_managed(web_node, actor, missing):
    errors = refused(web_node, actor, **{**FIREWALL_SETTINGS, missing: ""})
    assert list(errors) == [missing] and missing.upper() in errors[missing][0]


@pytest.mark.parametrize(
    "changes, field, words",
    [
        ({"ip_lan": "192.0.2.130"}, "ip_lan", "192.0.2.130 no está en la red 192.0.2.0/25"),
        ({"ip_dmz": "2001:db8::1"}, "ip_dmz", "no está en la red"),
        ({"red_dmz": "192.0.2.0/24", "ip_dmz": "192.0.2.200"}, "red_dmz", "se solapan"),
        ({"eth_dmz": "eth0"}, "eth_dmz", "misma que la LAN"),
        ({"red_lan": "192.0.2.5/25"}, "red_lan", "«192.0.2.5/25»"),
        ({"red_lan": "192.0.2.0/33"}, "red_lan", "CIDR"),
        ({"ip_lan": "192.0.2.300"}, "ip_lan", "«192.0.2.300»"),
        ({"ip_lan": "servidor.example"}, "ip_lan", "dirección IP"),
        ({"eth_lan": "eth0; rm -rf /"}, "eth_lan", "interfaz"),
        ({"eth_lan": "interfaz-demasiado-larga"}, "eth_lan", "15"),
    ],
)
def test_firewall_rules_name_the_value(web_node, actor, changes, field, words):
    errors = refused(web_node, actor, **{**FIREWALL_SETTINGS, **changes})
    assert words in " ".join(errors[field])
    assert not Node.objects.get(pk=web_node.pk).firewall_managed


def test_an_unmanaged_firewall_may_be_incomplete(web_node, actor):
    node_update(actor=actor, node=web_node, eth_lan="eth0")


@pytest.mark.parametrize(
    "address, name, words",
    [
        ("corporativo.example", "VC-corp-demo", "no es una IP"),
        ("192.0.2.20", "VC_corp", "sin '_'"),
    ],
)
def test_the_hosts_line_needs_the_corporate_nodes_ip_and_host_name(
    web_node, actor, address, name, words
):
    corporate = web_node.corporate_node
    Node.objects.filter(pk=corporate.pk).update(address=address, name=name)
    errors = refused(web_node, actor, hosts_managed=True)
    assert words in errors["hosts_managed"][0]


def test_a_local_nodes_web_front_paths_stay_inside_it(web_node, actor):
    errors = refused(web_node, actor, hosts_path="/../../etc/hosts")
    assert "hosts_path" in errors
    errors = refused(web_node, actor, apache_restart_command="apache2ctl graceful")
    assert "apache_restart_command" in errors


def test_the_api_and_the_page_give_the_same_refusal(web_node, api, node_form_data):
    answer = api.patch(
        f"/api/v1/nodes/{web_node.pk}/",
        {**FIREWALL_SETTINGS, "ip_lan": "192.0.2.130"},
        format="json",
    )
    assert answer.status_code == 400
    assert "192.0.2.130 no está en la red" in answer.json()["ip_lan"][0]

    client = Client()
    client.force_login(StaffUserFactory())
    page = client.post(
        reverse("node_update", args=[web_node.pk]),
        node_form_data(web_node, **{**FIREWALL_SETTINGS, "ip_lan": "192.0.2.130"}),
    )
    assert page.status_code == 400
    assert "192.0.2.130 no está en la red" in page.content.decode()
    assert not Node.objects.get(pk=web_node.pk).firewall_managed


@pytest.mark.parametrize(
    "ip_dmz, red_dmz, nat, accepted",
    [
        ("192.0.2.200", "192.0.2.192/27", "", True),  # no NAT: janus advertises nothing else
        ("192.0.2.200", "192.0.2.192/27", "192.0.2.200", True),  # the DMZ address itself
        ("192.0.2.200", "192.0.2.192/27", "198.51.100.7", False),  # public DMZ, other address
        ("10.0.5.20", "10.0.5.0/24", "198.51.100.7", True),  # behind a NAT: the reason for it
        ("172.16.9.9", "172.16.0.0/12", "198.51.100.7", True),
        ("100.64.1.2", "100.64.0.0/10", "203.0.113.9", True),  # CGNAT
    ],
)
def test_the_nat_address_is_the_dmz_one_or_there_is_a_nat_in_front(
    web_node, actor, ip_dmz, red_dmz, nat, accepted
):
    changes = {**FIREWALL_SETTINGS, "ip_dmz": ip_dmz, "red_dmz": red_dmz, "nat_1_1_mapping": nat}
    if accepted:
        node_update(actor=actor, node=web_node, **changes)
        return
    message = refused(web_node, actor, **changes)["nat_1_1_mapping"][0]
    assert nat in message and ip_dmz in message and "NAT" in message
