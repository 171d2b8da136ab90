"""Unusual hour: a login at an hour far from every hour this user has logged in at before.

Learns a 24-bucket histogram of each user's successful logins (in the company's time zone,
``utc_offset_h``). Judges only after ``unusual_hour_min_logins`` logins; an hour within
``unusual_hour_margin_h`` of a learned hour is usual.
"""

from __future__ import annotations

from mailfort.audit.chain import JsonValue
from mailfort.audit.detectors.engine import Cooldown
from mailfort.audit.events import AlertRaised, AlertSeverity, AuditEvent, LoginSucceeded
from mailfort.audit.settings import DetectorSettings
from mailfort.core.clock import Clock

__all__ = ["UnusualHourDetector"]


class UnusualHourDetector:
    def __init__(self, settings: DetectorSettings, clock: Clock) -> None:
        self._min = settings.unusual_hour_min_logins
        self._margin = settings.unusual_hour_margin_h
        self._offset_s = settings.utc_offset_h * 3600
        self._clock = clock
        self._hours: dict[str, list[int]] = {}
        self._cooldown = Cooldown(6 * 3600)

    @property
    def name(self) -> str:
        return "unusual_hour"

    def observe(self, event: AuditEvent) -> list[AlertRaised]:
        if not isinstance(event, LoginSucceeded):
            return []
        hour = int(((event.at + self._offset_s) // 3600) % 24)
        hist = self._hours.setdefault(event.user, [0] * 24)
        usual = any(hist[(hour + d) % 24] for d in range(-self._margin, self._margin + 1))
        judged = sum(hist) >= self._min
        hist[hour] += 1
        if judged and not usual and self._cooldown.ready(event.user, event.at):
            return [AlertRaised(
                at=event.at, kind=self.name, severity=AlertSeverity.MEDIUM, user=event.user,
                sources=(event.peer,),
                summary=f"{event.user} logged in at {hour:02d}:00, far outside their usual "
                        f"hours",
                details=(("hour", str(hour)),))]
        return []

    def snapshot(self) -> JsonValue:
        return {"hours": {u: list(h) for u, h in self._hours.items()},
                "cooldown": self._cooldown.snapshot()}

    def restore(self, state: JsonValue) -> None:
        if not isinstance(state, dict):
            return
        hours = state.get("hours")
        if isinstance(hours, dict):
            for user, h in hours.items():
                if isinstance(h, list) and len(h) == 24:
                    self._hours[user] = [int(x) if isinstance(x, int) else 0 for x in h]
        self._cooldown.restore(state.get("cooldown"))
