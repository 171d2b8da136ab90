"""IP policy: global allow/deny lists, trusted networks, per-user and per-group allowlists.

- ``deny``: refused at accept, before any greeting (unless also allowlisted or trusted).
- ``allow``: never banned; an entry also lifts an existing ban.
- ``trusted``: never banned and never locked out (e.g. the webmail host, the office VPN).
- ``user_allow`` / ``group_allow``: a user (or a member of a group) with an allowlist may log
  in only from those networks ("finance only from the office and the VPN").

Addresses are grouped into networks (``network_of``): IPv4 /24 and IPv6 /64, the unit a
single party usually controls. IPv4-mapped IPv6 addresses count as IPv4.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from mailfort.guard.errors import InvalidSource

__all__ = ["IpAddress", "IpNetwork", "IpPolicySettings", "IpPolicy", "parse_peer",
           "parse_source", "network_of", "IPV4_PREFIX", "IPV6_PREFIX"]

IpAddress = IPv4Address | IPv6Address
IpNetwork = IPv4Network | IPv6Network

IPV4_PREFIX = 24
IPV6_PREFIX = 64


def parse_peer(peer: str) -> IpAddress:
    """An address from ``1.2.3.4``, ``1.2.3.4:993``, ``::1`` or ``[::1]:993``."""
    text = peer.strip()
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise InvalidSource("unbalanced brackets in address")
        text = text[1:end]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        addr = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError as exc:
        raise InvalidSource("not an IP address") from exc
    if isinstance(addr, IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def parse_source(source: str) -> IpAddress | IpNetwork:
    """An address, or a network in CIDR form (host bits must be zero)."""
    if "/" in source:
        try:
            return ipaddress.ip_network(source.strip(), strict=True)
        except ValueError as exc:
            raise InvalidSource("not a CIDR network") from exc
    return parse_peer(source)


def network_of(addr: IpAddress) -> IpNetwork:
    prefix = IPV4_PREFIX if isinstance(addr, IPv4Address) else IPV6_PREFIX
    return ipaddress.ip_network(f"{addr}/{prefix}", strict=False)


def _networks(items: Iterable[str]) -> tuple[IpNetwork, ...]:
    out: list[IpNetwork] = []
    for item in items:
        try:
            out.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError as exc:
            raise InvalidSource(f"{item!r} is not an address or CIDR network") from exc
    return tuple(out)


def _contains(nets: tuple[IpNetwork, ...], addr: IpAddress) -> bool:
    return any(addr.version == n.version and addr in n for n in nets)


@dataclass(frozen=True, slots=True)
class IpPolicySettings:
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    trusted: tuple[str, ...] = ()
    user_allow: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # user -> CIDRs
    group_allow: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # group -> CIDRs
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # group -> users


class IpPolicy:
    def __init__(self, settings: IpPolicySettings) -> None:
        self._allow = _networks(settings.allow)
        self._deny = _networks(settings.deny)
        self._trusted = _networks(settings.trusted)
        per_user: dict[str, list[IpNetwork]] = {}
        for user, cidrs in settings.user_allow.items():
            per_user.setdefault(user.casefold(), []).extend(_networks(cidrs))
        for group, cidrs in settings.group_allow.items():
            nets = _networks(cidrs)
            for user in settings.groups.get(group, ()):
                per_user.setdefault(user.casefold(), []).extend(nets)
        self._per_user = {u: tuple(n) for u, n in per_user.items()}

    def is_trusted(self, addr: IpAddress) -> bool:
        return _contains(self._trusted, addr)

    def is_allowlisted(self, addr: IpAddress) -> bool:
        return _contains(self._allow, addr)

    def is_exempt(self, addr: IpAddress) -> bool:
        """Never banned: allowlisted or trusted."""
        return self.is_allowlisted(addr) or self.is_trusted(addr)

    def covers_exempt(self, source: IpAddress | IpNetwork) -> bool:
        """True when a ban of ``source`` would hit an allowlisted or trusted address."""
        if isinstance(source, IPv4Address | IPv6Address):
            return self.is_exempt(source)
        return any(source.version == n.version and source.overlaps(n)
                   for n in self._allow + self._trusted)

    def is_denied(self, addr: IpAddress) -> bool:
        return _contains(self._deny, addr) and not self.is_exempt(addr)

    def has_user_allowlist(self, user: str) -> bool:
        return user.casefold() in self._per_user

    def is_user_allowed(self, user: str, addr: IpAddress) -> bool:
        nets = self._per_user.get(user.casefold())
        return nets is None or _contains(nets, addr)

    def describe(self, addr: IpAddress) -> list[str]:
        """Sentences about this address for ``guard status``."""
        lines: list[str] = []
        if self.is_trusted(addr):
            lines.append(f"{addr} is in a trusted network: it is never banned or locked out.")
        if self.is_allowlisted(addr):
            lines.append(f"{addr} is on the allowlist: it is never banned.")
        if _contains(self._deny, addr) and not self.is_exempt(addr):
            lines.append(f"{addr} is on the deny list: connections are refused before the "
                         "greeting. Remove it from guard.deny in the configuration to lift this.")
        return lines
