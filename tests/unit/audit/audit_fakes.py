"""Fakes for the audit tests (no Mock): a settable clock and event builders."""

from __future__ import annotations

from collections.abc import Sequence

from mailfort.audit.events import AuditEvent


class FakeClock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.t = start

    def now(self) -> float:
        return self.t

    def monotonic(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


class ListSubscriber:
    """A bus subscriber that remembers what it got."""

    def __init__(self, name: str = "list") -> None:
        self._name = name
        self.events: list[AuditEvent] = []

    @property
    def name(self) -> str:
        return self._name

    async def handle(self, events: Sequence[AuditEvent]) -> None:
        self.events.extend(events)


class FailingSubscriber:
    def __init__(self) -> None:
        self.calls = 0

    @property
    def name(self) -> str:
        return "failing"

    async def handle(self, events: Sequence[AuditEvent]) -> None:
        self.calls += 1
        raise OSError("disk full")
