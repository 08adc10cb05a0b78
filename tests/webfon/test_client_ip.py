"""Which address a webfon login comes from (pure functions)."""

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.client_ip import client_ip, in_networks, parse_ip, parse_networks

PROXIES = parse_networks(["10.0.0.0/8", "2001:db8:ffff::/48"])


@pytest.mark.parametrize(
    "value",
    ["", " ", "1.2.3", "1.2.3.4:80", "01.2.3.4", "1.2.3.4/32", "fe80::1%eth0", "1.2.3. 4", "x"],
)
def test_strict_parsing_refuses(value):
    assert parse_ip(value) is None


def test_ipv4_mapped_ipv6_is_its_ipv4_address():
    assert parse_ip("::ffff:172.25.1.9") == ipaddress.ip_address("172.25.1.9")


def test_untrusted_peer_header_is_ignored():
    assert (
        str(
            client_ip(
                remote_addr="203.0.113.7", forwarded_for="172.25.1.1", trusted_proxies=PROXIES
            )
        )
        == "203.0.113.7"
    )


def test_right_most_untrusted_hop_behind_trusted_proxies():
    found = client_ip(
        remote_addr="10.0.0.2",
        forwarded_for="172.25.9.9, 198.51.100.4, 10.0.0.1",
        trusted_proxies=PROXIES,
    )
    # The client may have sent "172.25.9.9" itself; only the hop our proxy saw counts.
    assert str(found) == "198.51.100.4"


def test_malformed_hop_stops_at_the_last_trusted_one():
    found = client_ip(
        remote_addr="10.0.0.2", forwarded_for="172.25.1.1, garbage", trusted_proxies=PROXIES
    )
    assert str(found) == "10.0.0.2"


def test_exempt_network_matching_is_per_family():
    networks = parse_networks(["172.25.0.0/16"])
    assert in_networks(ipaddress.ip_address("172.25.200.1"), networks)
    assert not in_networks(ipaddress.ip_address("172.26.0.1"), networks)
    assert not in_networks(ipaddress.ip_address("2001:db8::1"), networks)


@given(st.text(max_size=60))
def test_any_header_from_an_untrusted_peer_gives_the_peer(header):
    assert (
        str(client_ip(remote_addr="203.0.113.7", forwarded_for=header, trusted_proxies=PROXIES))
        == "203.0.113.7"
    )


@given(st.text(max_size=60))
def test_parsed_address_round_trips_or_is_refused(value):
    address = parse_ip(value)
    assert address is None or parse_ip(str(address)) == address
