"""In-memory fakes of the Protocols the guard needs (no Mock)."""

from __future__ import annotations

from mailfort.audit.events import SecurityEvent
from mailfort.store.security import Ban, KnownSource


class FakeClock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.t = start

    def now(self) -> float:
        return self.t

    def monotonic(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


class ListSink:
    def __init__(self) -> None:
        self.events: list[SecurityEvent] = []

    def emit(self, event: SecurityEvent) -> None:
        self.events.append(event)

    def of(self, kind: type[object]) -> list[object]:
        return [e for e in self.events if isinstance(e, kind)]


class MemoryGuardState:
    def __init__(self) -> None:
        self.ban_rows: dict[str, Ban] = {}
        self.known: dict[tuple[str, str], KnownSource] = {}

    async def bans(self) -> list[Ban]:
        return list(self.ban_rows.values())

    async def put_ban(self, ban: Ban) -> None:
        self.ban_rows[ban.source] = ban

    async def delete_ban(self, source: str) -> bool:
        return self.ban_rows.pop(source, None) is not None

    async def known_sources(self) -> list[KnownSource]:
        return list(self.known.values())

    async def put_known_source(self, source: KnownSource) -> None:
        self.known[(source.user, source.network)] = source
