"""The guard's counters and pardons in SQLite: they survive a reopen, one call is one
transaction, and forgotten records are deleted."""

from __future__ import annotations

from pathlib import Path

from mailfort.store.security import AccountCounters, FailureMark, SourceCounters, StalePassword
from mailfort.store.sqlite import open_sqlite_store

T0 = 1_700_000_000.0
ALICE = AccountCounters("alice@example.com",
                        (FailureMark(T0, "203.0.113.0/24", False),
                         FailureMark(T0 + 1, "198.51.100.0/24", True)),
                        (StalePassword("203.0.113.0/24", "ab" * 16, T0),),
                        T0 + 900, (("198.51.100.0/24", T0 + 60),), 2, T0, True)
SOURCE = SourceCounters("203.0.113.9", (T0, T0 + 1), (("alice@example.com", T0 + 1),), 3,
                        T0 - 5)


async def test_counters_and_pardons_survive_a_reopen(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = await open_sqlite_store(data)
    try:
        state = store.security.guard_state
        assert await state.counters() == ([], [])
        await state.save_counters([ALICE], [SOURCE])
        first = await state.add_pardon("192.0.2.7", T0)
        second = await state.add_pardon("bob@example.com", T0 + 1)
        assert second > first
    finally:
        await store.close()
    store = await open_sqlite_store(data)
    try:
        state = store.security.guard_state
        assert await state.counters() == ([ALICE], [SOURCE])
        assert [(p.subject, p.at) for p in await state.pardons_after(first)] \
            == [("bob@example.com", T0 + 1)]
        assert len(await state.pardons_after(0)) == 2
        await state.save_counters([], [], forget_accounts=[ALICE.user],
                                  forget_sources=[SOURCE.source])
        assert await state.counters() == ([], [])
        # Pardons older than a day are dropped when a new one is added.
        await state.add_pardon("carol@example.com", T0 + 2 * 86400)
        assert [p.subject for p in await state.pardons_after(0)] == ["carol@example.com"]
    finally:
        await store.close()
