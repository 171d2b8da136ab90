"""Failures then success: many failed logins on an account followed by a successful one
(someone may have guessed the password). Optionally asks for a forced password change."""

from __future__ import annotations

from collections import deque

from mailfort.audit.chain import JsonValue
from mailfort.audit.events import (
    AlertRaised,
    AlertSeverity,
    AuditEvent,
    LoginFailed,
    LoginFailureReason,
    LoginSucceeded,
)
from mailfort.audit.settings import DetectorSettings
from mailfort.core.clock import Clock

__all__ = ["CompromiseDetector"]

_WRONG_SECRET = frozenset({LoginFailureReason.BAD_PASSWORD, LoginFailureReason.BAD_TOTP,
                           LoginFailureReason.BAD_TOKEN, LoginFailureReason.REVOKED_CREDENTIAL})


class CompromiseDetector:
    def __init__(self, settings: DetectorSettings, clock: Clock) -> None:
        self._threshold = settings.compromise_failures
        self._window = float(settings.compromise_window_s)
        self._force = settings.force_password_change_on_compromise
        self._clock = clock
        self._failures: dict[str, deque[tuple[float, str]]] = {}

    @property
    def name(self) -> str:
        return "failures_then_success"

    def observe(self, event: AuditEvent) -> list[AlertRaised]:
        if isinstance(event, LoginFailed):
            if event.is_counted and event.reason in _WRONG_SECRET:
                q = self._failures.setdefault(event.user, deque())
                q.append((event.at, event.peer))
                self._trim(q, event.at)
                if len(q) > self._threshold * 10:
                    q.popleft()
            return []
        if not isinstance(event, LoginSucceeded):
            return []
        q = self._failures.pop(event.user, deque())
        self._trim(q, event.at)
        if len(q) < self._threshold:
            return []
        sources = tuple(sorted({p for _, p in q} | {event.peer}))
        return [AlertRaised(
            at=event.at, kind=self.name, severity=AlertSeverity.HIGH, user=event.user,
            sources=sources[:20],
            summary=f"{len(q)} failed logins on {event.user} then a success from {event.peer}: "
                    f"possible compromise",
            details=(("failures", str(len(q))), ("success_from", event.peer)),
            actions=("force_password_change",) if self._force else ())]

    def _trim(self, q: deque[tuple[float, str]], now: float) -> None:
        while q and q[0][0] < now - self._window:
            q.popleft()

    def snapshot(self) -> JsonValue:
        return {u: [[t, p] for t, p in q] for u, q in self._failures.items() if q}

    def restore(self, state: JsonValue) -> None:
        if isinstance(state, dict):
            for user, items in state.items():
                if isinstance(items, list):
                    self._failures[user] = deque(
                        (float(i[0]), str(i[1])) for i in items
                        if isinstance(i, list) and len(i) == 2 and isinstance(i[0], (int, float)))
