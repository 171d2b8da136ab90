"""FETCH's precomputed items come from an in-process cache once read: the answers must be the
same as straight from the database, and the cache must stay within its byte bound."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from mailfort.mail.message import ParsedMessage, Part
from mailfort.store.sqlite import open_sqlite_store
from mailfort.store.sqlite import queries as q
from mailfort.store.sqlite.store import DB_FILENAME
from mailfort.store.types import FlagMode

WHEN = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def _message(i: int) -> tuple[bytes, ParsedMessage]:
    raw = f"Subject: m{i}\r\n\r\nbody {i}\r\n".encode()
    return raw, ParsedMessage(len(raw), b'(NIL "m%d")' % i, b"(B %d)" % i, b"(BS %d)" % i,
                              Part(0, 15, len(raw), "text/plain", None, "7bit"), None, (),
                              f"body {i}")


def test_cache_keeps_within_its_bound_and_drops_the_least_recent() -> None:
    cache = q.ContentCache(max_bytes=3 * (200 + 4))
    item = (b"e", b"b", b"s", "m")
    cache.put_many({"a": item, "b": item, "c": item})
    assert cache.get_many(["a"]) == {"a": item}  # a is now the most recent
    cache.put_many({"d": item})  # over the bound: b (least recent) goes
    assert set(cache.get_many(["a", "b", "c", "d"])) == {"a", "c", "d"}


async def test_fetch_meta_from_the_cache_equals_the_database(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = await open_sqlite_store(data)
    try:
        user = await store.users.create("u", "h")
        box = await store.mailboxes.get(user.id, "INBOX")
        assert box is not None
        for i in range(30):
            raw, parsed = _message(i)
            await store.messages.append(box.id, raw, parsed, frozenset(), WHEN)
        await store.messages.store_flags(box.id, [3, 7], FlagMode.ADD, frozenset({"\\Seen"}))
        await store.messages.copy(box.id, [5], box.id)  # same content twice (uid 31)
        wanted = [1, 3, 5, 7, 20, 31, 99]
        cold = await store.messages.fetch_meta(box.id, wanted)
        warm = await store.messages.fetch_meta(box.id, wanted)
    finally:
        await store.close()
    conn = sqlite3.connect(data / DB_FILENAME)
    try:
        plain = q.fetch_meta(conn, box.id, wanted)  # no cache: the join, as it always was
    finally:
        conn.close()
    assert cold == warm == plain
    assert [m.uid for m in plain] == [1, 3, 5, 7, 20, 31]
    assert plain[2].envelope == plain[5].envelope == b'(NIL "m4")'
