"""Exfiltration: unusually large downloads.

Counts bytes and messages fetched per session and per user-hour. Fires when a session or a
user-hour goes over an absolute cap, or when a user-hour goes over the user's learned baseline x
``baseline_factor`` (and over the floor, so that a light user's first big sync is not flagged).
The baseline is an exponentially weighted average of the user's active hours; it judges only
after a few hours have been learned. One alert per session and per user-hour; the alert may ask
that the session's FETCH be throttled or the session ended (``exfiltration_action``).
"""

from __future__ import annotations

from dataclasses import dataclass

from mailfort.audit.chain import JsonValue
from mailfort.audit.events import (
    AlertRaised,
    AlertSeverity,
    AuditEvent,
    MessagesFetched,
    SessionEnded,
)
from mailfort.audit.settings import DetectorSettings
from mailfort.core.clock import Clock

__all__ = ["ExfiltrationDetector"]

_ALPHA = 0.2
_MIN_LEARNED_HOURS = 5
_MAX_SESSIONS = 100_000


@dataclass(slots=True)
class _Tally:
    key: int  # the hour index (user-hours); 0 for sessions
    bytes: int = 0
    messages: int = 0
    is_alerted: bool = False


@dataclass(slots=True)
class _Baseline:
    bytes: float = 0.0
    messages: float = 0.0
    hours: int = 0


class ExfiltrationDetector:
    def __init__(self, settings: DetectorSettings, clock: Clock) -> None:
        self._s = settings
        self._clock = clock
        self._sessions: dict[str, _Tally] = {}
        self._hours: dict[str, _Tally] = {}
        self._baselines: dict[str, _Baseline] = {}

    @property
    def name(self) -> str:
        return "exfiltration"

    def observe(self, event: AuditEvent) -> list[AlertRaised]:
        if isinstance(event, SessionEnded):
            self._sessions.pop(event.session_id, None)
            return []
        if not isinstance(event, MessagesFetched):
            return []
        s = self._s
        alerts: list[AlertRaised] = []
        session = self._sessions.get(event.session_id)
        if session is None:
            if len(self._sessions) >= _MAX_SESSIONS:
                self._sessions.pop(next(iter(self._sessions)))
            session = self._sessions[event.session_id] = _Tally(0)
        session.bytes += event.bytes
        session.messages += event.count
        if not session.is_alerted and (session.bytes > s.session_bytes_cap
                                       or session.messages > s.session_messages_cap):
            session.is_alerted = True
            alerts.append(self._alert(event, "session", session,
                                      f"over the per-session cap ({s.session_bytes_cap} bytes "
                                      f"or {s.session_messages_cap} messages)"))
        hour = int(event.at // 3600)
        tally = self._hours.get(event.user)
        if tally is None or tally.key != hour:
            if tally is not None and tally.key < hour:
                self._learn(event.user, tally)
            tally = self._hours[event.user] = _Tally(hour)
        tally.bytes += event.bytes
        tally.messages += event.count
        if not tally.is_alerted:
            why = self._hour_reason(event.user, tally)
            if why:
                tally.is_alerted = True
                alerts.append(self._alert(event, "hour", tally, why))
        return alerts

    def _hour_reason(self, user: str, tally: _Tally) -> str:
        s = self._s
        if tally.bytes > s.hourly_bytes_cap or tally.messages > s.hourly_messages_cap:
            return (f"over the hourly cap ({s.hourly_bytes_cap} bytes or "
                    f"{s.hourly_messages_cap} messages)")
        base = self._baselines.get(user)
        if base is None or base.hours < _MIN_LEARNED_HOURS:
            return ""
        byte_limit = max(float(s.baseline_floor_bytes), base.bytes * s.baseline_factor)
        msg_limit = max(float(s.baseline_floor_messages), base.messages * s.baseline_factor)
        if tally.bytes > byte_limit or tally.messages > msg_limit:
            return (f"{s.baseline_factor}x over this user's usual hour "
                    f"(~{int(base.bytes)} bytes, ~{int(base.messages)} messages)")
        return ""

    def _learn(self, user: str, tally: _Tally) -> None:
        base = self._baselines.setdefault(user, _Baseline())
        if base.hours == 0:
            base.bytes, base.messages = float(tally.bytes), float(tally.messages)
        else:
            base.bytes += _ALPHA * (tally.bytes - base.bytes)
            base.messages += _ALPHA * (tally.messages - base.messages)
        base.hours += 1

    def _alert(self, event: MessagesFetched, scope: str, tally: _Tally, why: str) -> AlertRaised:
        action = self._s.exfiltration_action
        actions = (action,) if action in ("throttle_session", "end_session") else ()
        return AlertRaised(
            at=event.at, kind=self.name, severity=AlertSeverity.HIGH, user=event.user,
            sources=(event.peer,), session_id=event.session_id,
            summary=f"{event.user} fetched {tally.messages} messages / {tally.bytes} bytes "
                    f"this {scope}: {why}",
            details=(("scope", scope), ("bytes", str(tally.bytes)),
                     ("messages", str(tally.messages))),
            actions=actions)

    def snapshot(self) -> JsonValue:
        return {
            "hours": {u: [t.key, t.bytes, t.messages, t.is_alerted]
                      for u, t in self._hours.items()},
            "baselines": {u: [b.bytes, b.messages, b.hours] for u, b in self._baselines.items()},
        }

    def restore(self, state: JsonValue) -> None:
        if not isinstance(state, dict):
            return
        hours = state.get("hours")
        if isinstance(hours, dict):
            for user, v in hours.items():
                if isinstance(v, list) and len(v) == 4:
                    self._hours[user] = _Tally(int(str(v[0])), int(str(v[1])), int(str(v[2])),
                                               bool(v[3]))
        bases = state.get("baselines")
        if isinstance(bases, dict):
            for user, v in bases.items():
                if isinstance(v, list) and len(v) == 3:
                    self._baselines[user] = _Baseline(float(str(v[0])), float(str(v[1])),
                                                      int(str(v[2])))
