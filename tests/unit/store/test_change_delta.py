"""Sessions woken by a write learn what it changed without reading the change log again (the
write's own delta), and concurrent readers of the same changes share one read. Whatever way
the answer comes, it must equal the change log."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from mailfort.mail.message import ParsedMessage, Part
from mailfort.store.sqlite import open_sqlite_store
from mailfort.store.sqlite import queries as q
from mailfort.store.sqlite.store import SqliteMailStore
from mailfort.store.types import Change, FlagMode, MailboxId

WHEN = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def _message(i: int) -> tuple[bytes, ParsedMessage]:
    raw = f"Subject: m{i}\r\n\r\nbody {i}\r\n".encode()
    return raw, ParsedMessage(len(raw), b"", b"", b"", Part(0, 15, len(raw), "text/plain",
                                                            None, "7bit"), None, (), "x")


class _CountingReads:
    """Wraps the store's read entry point: how many reads ran."""

    def __init__(self, store: SqliteMailStore) -> None:
        self.db = store.messages._db  # type: ignore[attr-defined]
        self.inner: Callable[..., Any] = self.db.read
        self.count = 0
        self.db.read = self._read

    async def _read(self, fn: Callable[..., Any]) -> Any:
        self.count += 1
        return await self.inner(fn)


@contextlib.asynccontextmanager
async def _inbox(tmp_path: Path) -> AsyncIterator[tuple[SqliteMailStore, MailboxId]]:
    """A fresh store with one user; its INBOX."""
    store = await open_sqlite_store(tmp_path / "data")
    try:
        user = await store.users.create("u", "h")
        box = await store.mailboxes.get(user.id, "INBOX")
        assert box is not None
        yield store, box.id
    finally:
        await store.close()


async def _log(store: SqliteMailStore, box: MailboxId, modseq: int) -> list[Change]:
    """The change log itself, read directly."""
    db = store.messages._db  # type: ignore[attr-defined]
    return list(await db.read(lambda c: q.changes_since(c, box, modseq)))


async def test_a_woken_session_reads_the_writes_delta_not_the_log(tmp_path: Path) -> None:
    async with _inbox(tmp_path) as (store, box):
        woken = asyncio.Event()
        store.notifier.subscribe(box, lambda _m: woken.set())
        before = (await store.messages.snapshot(box)).mailbox.highest_modseq
        reads = _CountingReads(store)
        raw, parsed = _message(1)
        await store.messages.append(box, raw, parsed, frozenset(), WHEN)
        await asyncio.wait_for(woken.wait(), 2)
        changes = await store.messages.changes_since(box, before)
        assert reads.count == 0
        assert changes == await _log(store, box, before)
        assert [c.uid for c in changes] == [1]
        # Up to date already: nothing, still without a read.
        assert await store.messages.changes_since(box, changes[-1].modseq) == []
        assert reads.count == 1  # (the _log read above)
        # Older than the delta: from the log.
        await store.messages.store_flags(box, [1], FlagMode.ADD, frozenset({"\\Seen"}))
        assert await store.messages.changes_since(box, before) == \
            await _log(store, box, before)
        assert reads.count == 3


async def test_unwatched_mailboxes_publish_no_delta(tmp_path: Path) -> None:
    async with _inbox(tmp_path) as (store, box):
        raw, parsed = _message(1)
        await store.messages.append(box, raw, parsed, frozenset(), WHEN)
        reads = _CountingReads(store)
        assert [c.uid for c in await store.messages.changes_since(box, 0)] == [1]
        assert reads.count == 1


async def test_concurrent_readers_of_the_same_changes_share_one_read(tmp_path: Path) -> None:
    async with _inbox(tmp_path) as (store, box):
        for i in range(3):
            raw, parsed = _message(i)
            await store.messages.append(box, raw, parsed, frozenset(), WHEN)
        reads = _CountingReads(store)
        results = await asyncio.gather(*(store.messages.changes_since(box, 0)
                                         for _ in range(50)))
        assert reads.count == 1
        assert all(r == results[0] for r in results) and len(results[0]) == 3
        results[0].clear()  # each caller owns its list
        assert len(results[1]) == 3


async def test_deltas_always_equal_the_change_log(tmp_path: Path) -> None:
    """A seeded random run of appends, flag changes, expunges, copies and moves between two
    watched mailboxes: after each write, every modseq a session could hold gets the same
    answer from the store as from the log."""
    rng = random.Random(4314)  # noqa: S311 - a seeded, repeatable test sequence
    async with _inbox(tmp_path) as (store, inbox):
        user = await store.users.get("u")
        assert user is not None
        other = await store.mailboxes.create(user.id, "Other")
        boxes = [inbox, other.id]
        for b in boxes:
            store.notifier.subscribe(b, lambda _m: None)
        m = store.messages
        reads = _CountingReads(store)
        for step in range(120):
            tops = {b: (await m.snapshot(b)).mailbox.highest_modseq for b in boxes}
            box = rng.choice(boxes)
            uids = (await m.snapshot(box)).uids
            pick = rng.sample(list(uids), min(len(uids), rng.randint(1, 3))) if uids else []
            action = rng.choice(["append", "append", "flags", "expunge", "copy", "move"])
            if action == "append" or not pick:
                raw, parsed = _message(step)
                await m.append(box, raw, parsed, frozenset(), WHEN)
            elif action == "flags":
                await m.store_flags(box, pick, rng.choice(list(FlagMode)),
                                    frozenset(rng.sample(["\\Seen", "\\Deleted", "k1"], 2)))
            elif action == "expunge":
                await m.store_flags(box, pick, FlagMode.ADD, frozenset({"\\Deleted"}))
                await m.expunge(box, pick)
            else:
                dst = boxes[1 - boxes.index(box)]
                await (m.copy if action == "copy" else m.move)(box, pick, dst)
            now = {b: (await m.snapshot(b)).mailbox.highest_modseq for b in boxes}
            written = [b for b in boxes if now[b] != tops[b]]
            if action != "expunge" or not pick:  # (expunge is two writes: flags, expunge)
                # What a session woken by this one write asks: answered from its delta.
                before = reads.count
                answers = [await m.changes_since(b, tops[b]) for b in written]
                assert reads.count == before, (step, action)
                assert answers == [await _log(store, b, tops[b]) for b in written]
            for b in boxes:
                top = (await m.snapshot(b)).mailbox.highest_modseq
                for since in range(max(0, top - 6), top + 1):
                    assert await m.changes_since(b, since) == await _log(store, b, since), \
                        (step, action, b, since)
