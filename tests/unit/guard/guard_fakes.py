"""In-memory fakes of the Protocols the guard needs (no Mock)."""

from __future__ import annotations

from collections.abc import Sequence

from mailfort.audit.events import SecurityEvent
from mailfort.store.security import AccountCounters, Ban, KnownSource, Pardon, SourceCounters


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
        self.account_rows: dict[str, AccountCounters] = {}
        self.source_rows: dict[str, SourceCounters] = {}
        self.pardons: list[Pardon] = []
        self.saves = 0  # transactions of save_counters

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

    async def counters(self) -> tuple[list[AccountCounters], list[SourceCounters]]:
        return list(self.account_rows.values()), list(self.source_rows.values())

    async def save_counters(self, accounts: Sequence[AccountCounters],
                            sources: Sequence[SourceCounters], *,
                            forget_accounts: Sequence[str] = (),
                            forget_sources: Sequence[str] = ()) -> None:
        self.saves += 1
        for name in forget_accounts:
            self.account_rows.pop(name, None)
        for key in forget_sources:
            self.source_rows.pop(key, None)
        self.account_rows.update((a.user, a) for a in accounts)
        self.source_rows.update((s.source, s) for s in sources)

    async def add_pardon(self, subject: str, at: float) -> int:
        self.pardons.append(Pardon(len(self.pardons) + 1, subject, at))
        return len(self.pardons)

    async def pardons_after(self, seq: int) -> list[Pardon]:
        return [p for p in self.pardons if p.seq > seq]
