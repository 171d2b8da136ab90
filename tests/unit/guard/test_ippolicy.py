from __future__ import annotations

from ipaddress import ip_address, ip_network

import pytest

from mailfort.guard.errors import InvalidSource
from mailfort.guard.ippolicy import IpPolicy, IpPolicySettings, network_of, parse_peer


@pytest.mark.parametrize(("peer", "expected"), [
    ("192.0.2.7", "192.0.2.7"),
    ("192.0.2.7:993", "192.0.2.7"),
    ("[2001:db8::1]:993", "2001:db8::1"),
    ("2001:db8::1", "2001:db8::1"),
    ("::ffff:192.0.2.9", "192.0.2.9"),
])
def test_parse_peer(peer: str, expected: str) -> None:
    assert parse_peer(peer) == ip_address(expected)


@pytest.mark.parametrize("peer", ["", "example.com", "[::1", "300.1.1.1"])
def test_parse_peer_refuses_garbage(peer: str) -> None:
    with pytest.raises(InvalidSource):
        parse_peer(peer)


def test_network_of_groups_v4_by_24_and_v6_by_64() -> None:
    assert network_of(ip_address("192.0.2.77")) == ip_network("192.0.2.0/24")
    assert network_of(ip_address("2001:db8:1:2:3::9")) == ip_network("2001:db8:1:2::/64")


def test_deny_allow_trusted_and_user_allowlists() -> None:
    policy = IpPolicy(IpPolicySettings(
        allow=("198.51.100.0/24",), deny=("198.51.0.0/16", "203.0.113.5"),
        trusted=("10.9.0.0/16",), user_allow={"Boss@example.com": ("10.9.0.0/16",)},
        group_allow={"finance": ("192.0.2.0/24",)}, groups={"finance": ("fred@example.com",)}))
    assert policy.is_denied(ip_address("203.0.113.5"))
    assert policy.is_denied(ip_address("198.51.7.1"))
    assert not policy.is_denied(ip_address("198.51.100.4"))  # allowlist wins over deny
    assert policy.is_exempt(ip_address("10.9.3.3"))
    assert policy.is_user_allowed("boss@example.com", ip_address("10.9.1.1"))
    assert not policy.is_user_allowed("boss@example.com", ip_address("192.0.2.1"))
    assert policy.is_user_allowed("fred@example.com", ip_address("192.0.2.1"))
    assert not policy.is_user_allowed("fred@example.com", ip_address("203.0.113.1"))
    assert policy.is_user_allowed("anyone@example.com", ip_address("203.0.113.1"))
    assert policy.covers_exempt(ip_network("198.51.100.0/25"))
    assert not policy.covers_exempt(ip_network("192.0.2.0/24"))


def test_bad_cidr_in_settings_is_refused() -> None:
    with pytest.raises(InvalidSource):
        IpPolicy(IpPolicySettings(deny=("not-a-net",)))
