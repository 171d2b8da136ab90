"""Brute force: many failed logins from one source, or one account attacked from many.

Fires on ``brute_force_failures`` counted failures from one source within
``brute_force_window_s`` (naming the source and the accounts it tried), and relays the guard's
own findings (``AccountUnderAttack``, naming the sources seen failing on that account).
"""

from __future__ import annotations

from collections import deque

from mailfort.audit.chain import JsonValue
from mailfort.audit.detectors.engine import Cooldown
from mailfort.audit.events import (
    AccountUnderAttack,
    AlertRaised,
    AlertSeverity,
    AuditEvent,
    LoginFailed,
)
from mailfort.audit.settings import DetectorSettings
from mailfort.core.clock import Clock

__all__ = ["BruteForceDetector"]


class BruteForceDetector:
    def __init__(self, settings: DetectorSettings, clock: Clock) -> None:
        self._threshold = settings.brute_force_failures
        self._window = float(settings.brute_force_window_s)
        self._clock = clock
        self._by_source: dict[str, deque[tuple[float, str]]] = {}
        self._by_user: dict[str, deque[tuple[float, str]]] = {}
        self._cooldown = Cooldown(self._window)

    @property
    def name(self) -> str:
        return "brute_force"

    def observe(self, event: AuditEvent) -> list[AlertRaised]:
        if isinstance(event, LoginFailed) and event.is_counted:
            return self._failed(event)
        if isinstance(event, AccountUnderAttack):
            recent = self._by_user.get(event.user, deque())
            sources = tuple(sorted({p for t, p in recent if t >= event.at - self._window}))
            if self._cooldown.ready(f"user:{event.user}", event.at):
                return [AlertRaised(
                    at=event.at, kind=self.name, severity=AlertSeverity.HIGH, user=event.user,
                    sources=sources[:20],
                    summary=f"account {event.user} attacked from {event.distinct_sources} "
                            f"sources",
                    details=(("distinct_sources", str(event.distinct_sources)),))]
        return []

    def _failed(self, event: LoginFailed) -> list[AlertRaised]:
        cutoff = event.at - self._window
        q = self._by_source.setdefault(event.peer, deque())
        q.append((event.at, event.user))
        while q and q[0][0] < cutoff:
            q.popleft()
        u = self._by_user.setdefault(event.user, deque())
        u.append((event.at, event.peer))
        while u and u[0][0] < cutoff:
            u.popleft()
        if len(u) > 1000:
            u.popleft()
        self._forget(cutoff)
        if len(q) >= self._threshold and self._cooldown.ready(f"source:{event.peer}", event.at):
            users = sorted({name for _, name in q})
            return [AlertRaised(
                at=event.at, kind=self.name, severity=AlertSeverity.HIGH, sources=(event.peer,),
                user=users[0] if len(users) == 1 else None,
                summary=f"{len(q)} failed logins from {event.peer} in "
                        f"{int(self._window // 60)} minutes",
                details=(("failures", str(len(q))), ("accounts", ",".join(users[:10]))))]
        if len(q) > self._threshold * 4:
            q.popleft()
        return []

    def _forget(self, cutoff: float) -> None:
        if len(self._by_source) + len(self._by_user) < 50_000:
            return
        for table in (self._by_source, self._by_user):
            for key in [k for k, q in table.items() if not q or q[-1][0] < cutoff]:
                del table[key]

    def snapshot(self) -> JsonValue:
        return {"by_source": {k: [[t, u] for t, u in q] for k, q in self._by_source.items()},
                "by_user": {k: [[t, p] for t, p in q] for k, q in self._by_user.items()},
                "cooldown": self._cooldown.snapshot()}

    def restore(self, state: JsonValue) -> None:
        if not isinstance(state, dict):
            return
        for name, table in (("by_source", self._by_source), ("by_user", self._by_user)):
            raw = state.get(name)
            if isinstance(raw, dict):
                for k, items in raw.items():
                    if isinstance(items, list):
                        table[k] = deque((float(i[0]), str(i[1])) for i in items
                                         if isinstance(i, list) and len(i) == 2
                                         and isinstance(i[0], (int, float)))
        self._cooldown.restore(state.get("cooldown"))
