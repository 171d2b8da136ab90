"""New device or network: a successful login from a network never seen for that user.

Networks are IPv4 /24 and IPv6 /64 (a laptop moving between a home router's addresses is the
same network). A user's very first login teaches without alerting. The alert asks that the user
be told (``notify_user``) as well as the admin.
"""

from __future__ import annotations

import ipaddress

from mailfort.audit.chain import JsonValue
from mailfort.audit.events import AlertRaised, AlertSeverity, AuditEvent, LoginSucceeded
from mailfort.audit.settings import DetectorSettings
from mailfort.core.clock import Clock

__all__ = ["NewDeviceDetector", "network_of"]

_MAX_NETWORKS_PER_USER = 200


def network_of(peer: str) -> str:
    """The network a peer address belongs to (IPv4 /24, IPv6 /64); the text itself when it is
    not an address. Accepts ``ADDR``, ``ADDR:PORT`` and ``[ADDR]:PORT``."""
    text = peer.strip()
    candidates = [text]
    if text.startswith("["):
        candidates.append(text[1:].partition("]")[0])
    elif text.count(":") == 1:
        candidates.append(text.partition(":")[0])
    for c in candidates:
        try:
            addr = ipaddress.ip_address(c)
        except ValueError:
            continue
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        prefix = 24 if addr.version == 4 else 64
        return str(ipaddress.ip_network(f"{addr}/{prefix}", strict=False))
    return text


class NewDeviceDetector:
    def __init__(self, settings: DetectorSettings, clock: Clock) -> None:
        self._enabled = settings.new_network_alert
        self._clock = clock
        self._known: dict[str, dict[str, float]] = {}  # user -> network -> last seen

    @property
    def name(self) -> str:
        return "new_device"

    def observe(self, event: AuditEvent) -> list[AlertRaised]:
        if not isinstance(event, LoginSucceeded):
            return []
        net = network_of(event.peer)
        known = self._known.get(event.user)
        if known is None:
            self._known[event.user] = {net: event.at}
            return []
        is_new = net not in known
        known[net] = event.at
        if len(known) > _MAX_NETWORKS_PER_USER:
            del known[min(known, key=lambda n: known[n])]
        if not is_new or not self._enabled:
            return []
        return [AlertRaised(
            at=event.at, kind=self.name, severity=AlertSeverity.LOW, user=event.user,
            sources=(event.peer,),
            summary=f"new sign-in to {event.user} from {event.peer} (network {net} not seen "
                    f"before)",
            details=(("network", net), ("method", event.method)),
            actions=("notify_user",))]

    def snapshot(self) -> JsonValue:
        return {u: {n: t for n, t in nets.items()} for u, nets in self._known.items()}

    def restore(self, state: JsonValue) -> None:
        if isinstance(state, dict):
            for user, nets in state.items():
                if isinstance(nets, dict):
                    self._known[user] = {n: float(t) for n, t in nets.items()
                                         if isinstance(t, (int, float))}
