"""GeoIP detections (only with ``audit.geoip_db``): a login from a country never seen for that
user, and impossible travel (two logins further apart than ``impossible_travel_kmh`` allows).

Locations come from a ``GeoLocator``; ``MaxMindLocator`` reads a MaxMind .mmdb (GeoLite2
Country or City) with the optional ``maxminddb`` package (``pip install mailfort[geoip]``). The
database is the only judge of where an address is: addresses it does not know (private and
loopback ranges, in MaxMind's databases) are skipped, and a site's own database may place its
internal networks. A user's first located login teaches without alerting.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mailfort.audit.chain import JsonValue
from mailfort.audit.events import AlertRaised, AlertSeverity, AuditEvent, LoginSucceeded
from mailfort.audit.settings import DetectorSettings
from mailfort.core.clock import Clock
from mailfort.core.errors import ConfigError

__all__ = ["GeoPoint", "GeoLocator", "MaxMindLocator", "GeoDetector", "distance_km"]

_EARTH_RADIUS_KM = 6371.0
_MAX_COUNTRIES_PER_USER = 100


@dataclass(frozen=True, slots=True)
class GeoPoint:
    country: str  # ISO 3166-1 alpha-2
    latitude: float | None = None
    longitude: float | None = None


class GeoLocator(Protocol):
    def locate(self, address: str) -> GeoPoint | None: ...


def _host(peer: str) -> str:
    text = peer.strip()
    if text.startswith("["):
        return text[1:].partition("]")[0]
    if text.count(":") == 1:
        return text.partition(":")[0]
    return text


class MaxMindLocator:
    """A MaxMind DB reader (``maxminddb``, an optional dependency)."""

    def __init__(self, path: Path) -> None:
        try:
            import maxminddb
        except ImportError:
            raise ConfigError("audit.geoip_db", "needs the maxminddb package "
                              "(pip install maxminddb)") from None
        try:
            self._reader = maxminddb.open_database(str(path))
        except (OSError, ValueError) as exc:
            raise ConfigError("audit.geoip_db", f"cannot read {path}: {exc}") from None

    def locate(self, address: str) -> GeoPoint | None:
        try:
            ip = ipaddress.ip_address(_host(address))
        except ValueError:
            return None
        record = self._reader.get(str(ip))
        if not isinstance(record, dict):
            return None
        country = record.get("country")
        code = country.get("iso_code") if isinstance(country, dict) else None
        if not isinstance(code, str):
            return None
        loc = record.get("location")
        lat = loc.get("latitude") if isinstance(loc, dict) else None
        lon = loc.get("longitude") if isinstance(loc, dict) else None
        return GeoPoint(code, float(lat) if isinstance(lat, (int, float)) else None,
                        float(lon) if isinstance(lon, (int, float)) else None)

    def close(self) -> None:
        self._reader.close()


def distance_km(a: GeoPoint, b: GeoPoint) -> float | None:
    """Great-circle distance (haversine); None when either point has no coordinates."""
    if None in (a.latitude, a.longitude, b.latitude, b.longitude):
        return None
    assert a.latitude is not None and a.longitude is not None
    assert b.latitude is not None and b.longitude is not None
    p1, p2 = math.radians(a.latitude), math.radians(b.latitude)
    dp, dl = p2 - p1, math.radians(b.longitude - a.longitude)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


class GeoDetector:
    def __init__(self, settings: DetectorSettings, clock: Clock, locator: GeoLocator) -> None:
        self._max_kmh = float(settings.impossible_travel_kmh)
        self._clock = clock
        self._locator = locator
        self._countries: dict[str, dict[str, float]] = {}  # user -> country -> last seen
        self._last: dict[str, tuple[float, str, float | None, float | None, str]] = {}

    @property
    def name(self) -> str:
        return "geo"

    def observe(self, event: AuditEvent) -> list[AlertRaised]:
        if not isinstance(event, LoginSucceeded):
            return []
        point = self._locator.locate(event.peer)
        if point is None:
            return []
        alerts: list[AlertRaised] = []
        known = self._countries.get(event.user)
        if known is not None and point.country not in known:
            alerts.append(AlertRaised(
                at=event.at, kind="new_country", severity=AlertSeverity.MEDIUM,
                user=event.user, sources=(event.peer,),
                summary=f"sign-in to {event.user} from {point.country}, a country not seen "
                        f"before for this account",
                details=(("country", point.country), ("known", ",".join(sorted(known)))),
                actions=("notify_user",)))
        last = self._last.get(event.user)
        if last is not None:
            at0, country0, lat0, lon0, peer0 = last
            km = distance_km(GeoPoint(country0, lat0, lon0), point)
            hours = max(event.at - at0, 1.0) / 3600.0
            if km is not None and km > 500 and km / hours > self._max_kmh:
                alerts.append(AlertRaised(
                    at=event.at, kind="impossible_travel", severity=AlertSeverity.HIGH,
                    user=event.user, sources=(peer0, event.peer),
                    summary=f"{event.user} signed in from {country0} then {point.country} "
                            f"{km:.0f} km apart within {hours * 60:.0f} minutes",
                    details=(("km", f"{km:.0f}"), ("minutes", f"{hours * 60:.0f}"))))
        table = self._countries.setdefault(event.user, {})
        table[point.country] = event.at
        if len(table) > _MAX_COUNTRIES_PER_USER:
            del table[min(table, key=lambda c: table[c])]
        self._last[event.user] = (event.at, point.country, point.latitude, point.longitude,
                                  event.peer)
        return alerts

    def snapshot(self) -> JsonValue:
        countries: dict[str, JsonValue] = {u: {c: t for c, t in cs.items()}
                                           for u, cs in self._countries.items()}
        last: dict[str, JsonValue] = {u: [v[0], v[1], v[2], v[3], v[4]]
                                      for u, v in self._last.items()}
        return {"countries": countries, "last": last}

    def restore(self, state: JsonValue) -> None:
        if not isinstance(state, dict):
            return
        countries = state.get("countries")
        if isinstance(countries, dict):
            for user, cs in countries.items():
                if isinstance(cs, dict):
                    self._countries[user] = {c: float(t) for c, t in cs.items()
                                             if isinstance(t, (int, float))}
        last = state.get("last")
        if isinstance(last, dict):
            for user, v in last.items():
                if (isinstance(v, list) and len(v) == 5 and isinstance(v[0], (int, float))
                        and isinstance(v[1], str) and isinstance(v[4], str)):
                    lat = float(v[2]) if isinstance(v[2], (int, float)) else None
                    lon = float(v[3]) if isinstance(v[3], (int, float)) else None
                    self._last[user] = (float(v[0]), v[1], lat, lon, v[4])
