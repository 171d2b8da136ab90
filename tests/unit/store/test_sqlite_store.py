"""SQLite-specific behaviour: durability across SIGKILL, crash orphans, garbage collection,
pragmas, file modes, blob dedup and the bounded change log."""

from __future__ import annotations

import datetime as dt
import os
import select
import signal
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from mailfort.mail.message import ParsedMessage, Part
from mailfort.store.sqlite import SqliteMailStore, open_sqlite_store
from mailfort.store.sqlite.blobs import BlobStore, blob_id_of
from mailfort.store.sqlite.store import _MIGRATIONS, DB_FILENAME, INLINE_BLOB_MAX_BYTES
from mailfort.store.types import BlobId, FlagMode, MailboxInfo

HASH = "$argon2id$fake"  # noqa: S105 (not a credential)
WHEN = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
CHILD_WAIT_S = 30.0

SAMPLE_CODE = '''
import datetime as dt
from mailfort.mail.message import ParsedMessage, Part

def sample(subject):
    raw = ("Subject: " + subject + "\\r\\n\\r\\nbody\\r\\n").encode()
    bs = raw.index(b"\\r\\n\\r\\n") + 4
    return raw, ParsedMessage(len(raw), b"(NIL)", b"(B)", b"(BS)",
                              Part(0, bs, len(raw), "text/plain", None, "7bit"), None,
                              (("subject", subject),), "body")
WHEN = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
'''

# Appends one message, prints its uid once append() has returned, then waits to be killed.
APPEND_THEN_WAIT = SAMPLE_CODE + '''
import asyncio, pathlib, sys
from mailfort.store.sqlite import open_sqlite_store

async def main():
    store = await open_sqlite_store(pathlib.Path(sys.argv[1]))
    user = await store.users.get("u") or await store.users.create("u", "h")
    box = await store.mailboxes.get(user.id, "INBOX")
    raw, parsed = sample(sys.argv[2])
    res = await store.messages.append(box.id, raw, parsed, frozenset({"\\\\Seen"}), WHEN)
    sys.stdout.write(f"{res.uid}\\n")
    sys.stdout.flush()
    sys.stdin.read()

asyncio.run(main())
'''

# Writes the blob and runs the append's SQL in a transaction that never commits, then waits.
CRASH_BEFORE_COMMIT = SAMPLE_CODE + '''
import asyncio, pathlib, sqlite3, sys
from mailfort.store.sqlite import open_sqlite_store
from mailfort.store.sqlite import queries
from mailfort.store.sqlite.blobs import BlobStore, blob_id_of

async def main():
    data = pathlib.Path(sys.argv[1])
    store = await open_sqlite_store(data)
    user = await store.users.get("u")
    box = await store.mailboxes.get(user.id, "INBOX")
    raw, parsed = sample(sys.argv[2])
    blob_id = blob_id_of(raw)
    BlobStore(data / "blobs").write(blob_id, raw)
    conn = sqlite3.connect(data / "mailfort.db", isolation_level=None)
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("BEGIN IMMEDIATE")
    queries.append_message(conn, box.id, blob_id, parsed, queries.encode_flags([]), WHEN)
    sys.stdout.write("in-flight\\n")
    sys.stdout.flush()
    sys.stdin.read()

asyncio.run(main())
'''


def sample(subject: str) -> tuple[bytes, ParsedMessage]:
    raw = f"Subject: {subject}\r\n\r\nbody\r\n".encode()
    bs = raw.index(b"\r\n\r\n") + 4
    return raw, ParsedMessage(len(raw), b"(NIL)", b"(B)", b"(BS)",
                              Part(0, bs, len(raw), "text/plain", None, "7bit"), None,
                              (("subject", subject),), "body")


def big_sample(subject: str) -> tuple[bytes, ParsedMessage]:
    """A message over the inline limit: stored as a blob file."""
    body = "x" * (INLINE_BLOB_MAX_BYTES + 10)
    raw = f"Subject: {subject}\r\n\r\n{body}\r\n".encode()
    bs = raw.index(b"\r\n\r\n") + 4
    return raw, ParsedMessage(len(raw), b"(NIL)", b"(B)", b"(BS)",
                              Part(0, bs, len(raw), "text/plain", None, "7bit"), None,
                              (("subject", subject),), body)


def inline_rows(data_dir: Path) -> int:
    conn = sqlite3.connect(data_dir / DB_FILENAME)
    try:
        return int(conn.execute("SELECT count(*) FROM inline_blobs").fetchone()[0])
    finally:
        conn.close()


def run_then_kill(code: str, data_dir: Path, arg: str) -> str:
    """Run ``code`` in a child, read its first line, SIGKILL it at once; return the line."""
    proc = subprocess.Popen([sys.executable, "-c", code, str(data_dir), arg],  # noqa: S603
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    try:
        ready, _, _ = select.select([proc.stdout], [], [], CHILD_WAIT_S)
        assert ready, "child did not report in time"
        line = proc.stdout.readline().decode().strip()
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=CHILD_WAIT_S) == -signal.SIGKILL, proc.stderr
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=CHILD_WAIT_S)
        proc.stdout.close()
        assert proc.stdin is not None and proc.stderr is not None
        proc.stdin.close()
        err = proc.stderr.read().decode()
        proc.stderr.close()
    assert line, err
    return line


async def inbox(store: SqliteMailStore, name: str = "u") -> MailboxInfo:
    user = await store.users.get(name) or await store.users.create(name, HASH)
    box = await store.mailboxes.get(user.id, "INBOX")
    assert box is not None
    return box


def blob_files(data_dir: Path) -> set[str]:
    return {p.parent.name + p.name for p in (data_dir / "blobs").glob("*/*")}


async def test_append_is_durable_when_it_returns(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run_then_kill(APPEND_THEN_WAIT, data, "one") == "1"
    assert run_then_kill(APPEND_THEN_WAIT, data, "two") == "2"
    store = await open_sqlite_store(data)
    try:
        box = await inbox(store)
        snap = await store.messages.snapshot(box.id)
        assert snap.uids == [1, 2] and snap.flags[0] == frozenset({"\\Seen"})
        metas = await store.messages.fetch_meta(box.id, [1, 2])
        assert [await store.messages.read_blob(m.blob_id) for m in metas] == [
            sample("one")[0], sample("two")[0]]
    finally:
        await store.close()


async def test_append_killed_before_commit_leaves_no_row_and_no_blob(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run_then_kill(APPEND_THEN_WAIT, data, "kept") == "1"
    assert run_then_kill(CRASH_BEFORE_COMMIT, data, "lost") == "in-flight"
    lost = blob_id_of(sample("lost")[0])
    assert lost in blob_files(data)  # the orphan the crash left
    store = await open_sqlite_store(data)  # sweeps at open
    try:
        box = await inbox(store)
        assert (await store.messages.snapshot(box.id)).uids == [1]
        assert box.uidnext == 2
        assert lost not in blob_files(data)  # the orphan was swept
        # "kept" is small: it lives inside the database (inline_blobs), not as a file
        assert await store.messages.read_blob(blob_id_of(sample("kept")[0])) == sample("kept")[0]
        assert (await store.messages.append(box.id, *sample("next"), frozenset(), WHEN)).uid == 2
    finally:
        await store.close()


async def test_pragmas_and_file_modes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = await open_sqlite_store(data)
    await store.close()
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "blobs").stat().st_mode) == 0o700
    assert stat.S_IMODE((data / DB_FILENAME).stat().st_mode) == 0o600
    conn = sqlite3.connect(data / DB_FILENAME)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == max(v for v, _ in _MIGRATIONS)
    finally:
        conn.close()


async def test_reopen_keeps_data_and_schema(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = await open_sqlite_store(data)
    box = await inbox(store)
    await store.messages.append(box.id, *sample("a"), frozenset({"Kw"}), WHEN)
    await store.close()
    store = await open_sqlite_store(data)
    try:
        again = await inbox(store)
        assert again.id == box.id and again.uidvalidity == box.uidvalidity
        assert (await store.messages.snapshot(box.id)).flags == [frozenset({"Kw"})]
    finally:
        await store.close()


async def test_same_content_is_one_blob_and_gc_keeps_referenced(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = await open_sqlite_store(data)
    try:
        box = await inbox(store)
        other = await store.mailboxes.create(box.user_id, "Other")
        raw, parsed = big_sample("same")
        await store.messages.append(box.id, raw, parsed, frozenset({"\\Deleted"}), WHEN)
        await store.messages.append(box.id, raw, parsed, frozenset(), WHEN)
        await store.messages.copy(box.id, [1], other.id)
        assert blob_files(data) == {blob_id_of(raw)}
        await store.messages.expunge(box.id)
        assert await store.collect_garbage() == 0  # uid 2 and the copy still use it
        await store.messages.store_flags(box.id, [2], FlagMode.ADD, frozenset({"\\Deleted"}))
        await store.messages.expunge(box.id)
        assert await store.collect_garbage() == 0
        await store.mailboxes.delete(box.user_id, "Other")
        assert await store.collect_garbage() == 1
        assert blob_files(data) == set()
        # The blob comes back when the content is delivered again.
        res = await store.messages.append(box.id, raw, parsed, frozenset(), WHEN)
        [meta] = await store.messages.fetch_meta(box.id, [res.uid])
        assert meta.envelope == parsed.envelope
        assert await store.messages.read_blob(meta.blob_id) == raw
    finally:
        await store.close()


async def test_small_messages_live_in_the_database_and_gc_drops_them(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = await open_sqlite_store(data)
    try:
        box = await inbox(store)
        other = await store.mailboxes.create(box.user_id, "Other")
        raw, parsed = sample("small")
        await store.messages.append(box.id, raw, parsed, frozenset(), WHEN)
        await store.messages.append(box.id, raw, parsed, frozenset(), WHEN)
        await store.messages.copy(box.id, [1], other.id)
        assert blob_files(data) == set()
        assert inline_rows(data) == 1  # same content, one copy
        [meta] = await store.messages.fetch_meta(other.id, [1])
        assert await store.messages.read_blob(meta.blob_id) == raw
        await store.mailboxes.delete(box.user_id, "Other")
        await store.messages.store_flags(box.id, [1, 2], FlagMode.ADD, frozenset({"\\Deleted"}))
        await store.messages.expunge(box.id)
        await store.collect_garbage()
        assert inline_rows(data) == 0
    finally:
        await store.close()


def test_blob_sweep_spares_reserved_and_referenced(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    blobs.ensure_root()
    ids = [blob_id_of(f"m{i}".encode()) for i in range(3)]
    for i, blob_id in enumerate(ids):
        blobs.write(blob_id, f"m{i}".encode())
    with blobs.reserve(ids[1]):
        assert blobs.sweep({ids[0]}) == 1
        assert blobs.exists(ids[0]) and blobs.exists(ids[1]) and not blobs.exists(ids[2])
    assert blobs.sweep(set()) == 2
    assert not any(blobs.exists(b) for b in ids)


def test_blob_ids_cannot_escape_the_blob_directory(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    from mailfort.store.errors import StoreError
    for bad in ("../../etc/passwd", "AB" * 32, "ab", "g" * 64):
        with pytest.raises(StoreError):
            blobs.read(BlobId(bad))


async def test_changelog_stays_bounded_by_live_messages(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = await open_sqlite_store(data)
    try:
        box = await inbox(store)
        for i in range(3):
            await store.messages.append(box.id, *sample(f"m{i}"), frozenset(), WHEN)
        for _ in range(20):
            await store.messages.store_flags(box.id, [1, 2], FlagMode.ADD, frozenset({"\\Seen"}))
            await store.messages.store_flags(box.id, [1, 2], FlagMode.REMOVE,
                                             frozenset({"\\Seen"}))
        await store.messages.store_flags(box.id, [3], FlagMode.ADD, frozenset({"\\Deleted"}))
        await store.messages.expunge(box.id)
    finally:
        await store.close()
    conn = sqlite3.connect(data / DB_FILENAME)
    try:
        rows = conn.execute("SELECT kind, uid FROM changelog WHERE mailbox_id = ?"
                            " ORDER BY modseq", (box.id,)).fetchall()
    finally:
        conn.close()
    assert rows == [("added", 1), ("added", 2), ("flags", 1), ("flags", 2), ("expunged", 3)]
