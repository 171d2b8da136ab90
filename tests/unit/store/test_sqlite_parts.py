"""The sqlite backend's pieces: flag encoding, mailbox names, the notifier, change-log pruning."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailfort.mail.message import ParsedMessage, Part
from mailfort.store.errors import InvalidMailboxName
from mailfort.store.sqlite import open_sqlite_store
from mailfort.store.sqlite import queries as q
from mailfort.store.sqlite.notifier import InProcessNotifier
from mailfort.store.sqlite.store import DB_FILENAME, normalize_mailbox_name
from mailfort.store.types import FlagMode, MailboxId

SYSTEM = ["\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"]
flag_names = st.sampled_from(SYSTEM + ["\\SEEN", "\\recent", "Work", "WORK", "$Label1", "todo"])
flag_sets = st.frozensets(flag_names, max_size=6)


def model(flags: frozenset[str]) -> set[str]:
    """A flag set as case-insensitive keys, without \\Recent."""
    return {f.lower() for f in flags} - {"\\recent"}


@settings(max_examples=200, deadline=None)
@given(flag_sets, st.sampled_from(list(FlagMode)), flag_sets)
def test_apply_flags_matches_a_set_model(start: frozenset[str], mode: FlagMode,
                                         change: frozenset[str]) -> None:
    before = q.encode_flags(start)
    after = q.apply_flags(mode, before, q.encode_flags(change))
    expected = {FlagMode.ADD: model(start) | model(change),
                FlagMode.REMOVE: model(start) - model(change),
                FlagMode.REPLACE: model(change)}[mode]
    decoded = q.decode_flags(after.bits, after.keywords)
    assert {f.lower() for f in decoded} == expected
    assert len(decoded) == len(expected)  # no case-variant duplicates
    assert all(f in SYSTEM for f in decoded if f.startswith("\\"))
    assert (after == before) == (expected == model(start))  # no-op detection is exact


def test_encoding_is_canonical() -> None:
    assert q.encode_flags(["b", "A", "\\seen", "a"]) == q.EncodedFlags(8, "A b")
    assert q.encode_flags(["\\Recent"]) == q.EncodedFlags(0, "")
    with pytest.raises(ValueError):
        q.encode_flags(["two words"])


@pytest.mark.parametrize("name, stored", [
    ("inbox", "INBOX"), ("Inbox/Sub", "INBOX/Sub"), ("INBOXES", "INBOXES"),
    ("a/b/c", "a/b/c"), ("Ünïcode", "Ünïcode"),
])
def test_mailbox_names_normalised(name: str, stored: str) -> None:
    assert normalize_mailbox_name(name) == stored


@pytest.mark.parametrize("name", ["", "/a", "a/", "a//b", "a\x00b", "a\nb", "a*", "%",
                                  "x" * 1025, "/".join(["a"] * 65)])
def test_bad_mailbox_names_refused(name: str) -> None:
    with pytest.raises(InvalidMailboxName):
        normalize_mailbox_name(name)


async def test_notifier_publish_from_another_thread_runs_on_the_loop() -> None:
    loop = asyncio.get_running_loop()
    notifier = InProcessNotifier(loop)
    called: list[tuple[MailboxId, int]] = []
    done = asyncio.Event()

    def callback(mailbox_id: MailboxId) -> None:
        called.append((mailbox_id, threading.get_ident()))
        done.set()

    notifier.subscribe(MailboxId(7), callback)
    worker = threading.Thread(target=notifier.publish, args=([MailboxId(7), MailboxId(8)],))
    worker.start()
    await asyncio.wait_for(done.wait(), 2.0)
    worker.join(timeout=2.0)
    assert called == [(MailboxId(7), threading.get_ident())]
    notifier.unsubscribe(MailboxId(7), callback)
    notifier.unsubscribe(MailboxId(7), callback)  # unknown: ignored
    assert notifier.subscriber_count(MailboxId(7)) == 0


async def test_failing_subscriber_does_not_break_the_write(tmp_path: Path) -> None:
    store = await open_sqlite_store(tmp_path / "data")
    loop = asyncio.get_running_loop()
    errors: list[BaseException | None] = []
    loop.set_exception_handler(lambda _loop, ctx: errors.append(ctx.get("exception")))
    ok = asyncio.Event()
    try:
        user = await store.users.create("u", "h")
        box = await store.mailboxes.get(user.id, "INBOX")
        assert box is not None

        def broken(mailbox_id: MailboxId) -> None:
            raise RuntimeError("subscriber bug")

        store.notifier.subscribe(box.id, broken)
        store.notifier.subscribe(box.id, lambda _m: ok.set())
        raw = b"Subject: x\r\n\r\nx\r\n"
        parsed = ParsedMessage(len(raw), b"", b"", b"", Part(0, 13, len(raw), "text/plain",
                                                             None, "7bit"), None, (), "x")
        res = await store.messages.append(box.id, raw, parsed, frozenset(),
                                          dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
        await asyncio.wait_for(ok.wait(), 2.0)
        assert res.uid == 1
        assert len(errors) == 1 and isinstance(errors[0], RuntimeError)
    finally:
        await store.close()


async def test_expunged_entries_are_pruned_past_the_cap(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = await open_sqlite_store(data)
    user = await store.users.create("u", "h")
    box = await store.mailboxes.get(user.id, "INBOX")
    assert box is not None
    raw = b"Subject: x\r\n\r\nx\r\n"
    for i in range(5):
        body = raw + str(i).encode()
        parsed = ParsedMessage(len(body), b"", b"", b"", Part(0, 13, len(body), "text/plain",
                                                              None, "7bit"), None, (), "x")
        await store.messages.append(box.id, body, parsed, frozenset({"\\Deleted"}),
                                    dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    await store.close()
    conn = sqlite3.connect(data / DB_FILENAME, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        assert q.expunge(conn, box.id, None, keep_expunged=2) == [1, 2, 3, 4, 5]
        conn.execute("COMMIT")
        rows = conn.execute("SELECT kind, uid, modseq FROM changelog WHERE mailbox_id = ?"
                            " ORDER BY modseq", (box.id,)).fetchall()
        floor = conn.execute("SELECT changelog_floor FROM mailboxes WHERE id = ?",
                             (box.id,)).fetchone()[0]
    finally:
        conn.close()
    assert [(k, u) for k, u, _ in rows] == [("expunged", 4), ("expunged", 5)]
    assert floor == rows[0][2] - 1
