"""What only the real database shows: exact quota usage maintained in the write transaction,
over-quota refusal that writes nothing, concurrency, the cascade on DELETE, and a reopen."""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.resources
import sqlite3
from pathlib import Path

import pytest

from mailfort.mail.message import ParsedMessage, Part
from mailfort.store.acl import Grantee, GranteeKind, OverQuota, QuotaRoot, QuotaRootKind
from mailfort.store.sqlite import SqliteMailStore, open_sqlite_store
from mailfort.store.sqlite import queries as q
from mailfort.store.types import FlagMode, MailboxId

WHEN = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
ALICE = QuotaRoot(QuotaRootKind.USER, "alice")


def sample(n: int, pad: int = 0) -> tuple[bytes, ParsedMessage]:
    raw = (f"From: a@example.com\r\nSubject: m{n}\r\n\r\nbody {n}{'x' * pad}\r\n").encode()
    start = raw.index(b"\r\n\r\n") + 4
    return raw, ParsedMessage(size=len(raw), envelope=b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
                              body=b'("TEXT" "PLAIN" NIL NIL NIL "7BIT" 1 1)',
                              bodystructure=b'("TEXT" "PLAIN" NIL NIL NIL "7BIT" 1 1'
                                            b' NIL NIL NIL NIL)',
                              root=Part(0, start, len(raw), "text/plain", None, "7bit"),
                              sent_date=None, header_index=(), body_text="")


async def _append(store: SqliteMailStore, box: MailboxId, n: int, pad: int = 0) -> int:
    raw, parsed = sample(n, pad)
    await store.messages.append(box, raw, parsed, frozenset(), WHEN)
    return len(raw)


async def _recount(store: SqliteMailStore, user: str) -> tuple[int, int]:
    """The usage computed the slow way, from the messages themselves."""
    u = await store.users.get(user)
    assert u is not None
    total, count = 0, 0
    for box in await store.mailboxes.list(u.id):
        st = await store.mailboxes.status(box.id)
        total += st.size
        count += st.messages
    return total, count


async def _open(tmp_path: Path) -> SqliteMailStore:
    return await open_sqlite_store(tmp_path / "data")


async def test_usage_follows_append_copy_move_expunge_delete(tmp_path: Path) -> None:
    store = await _open(tmp_path)
    try:
        alice = await store.users.create("alice", "$argon2id$x")
        inbox = await store.mailboxes.get(alice.id, "INBOX")
        assert inbox is not None
        work = await store.mailboxes.create(alice.id, "Work")
        sizes = [await _append(store, inbox.id, i) for i in range(5)]
        state = await store.acl.quotas.get(ALICE)
        assert (state.storage_used, state.messages_used) == (sum(sizes), 5)
        await store.messages.copy(inbox.id, [1, 2], work.id)
        await store.messages.move(inbox.id, [3], work.id)
        await store.messages.store_flags(inbox.id, [4], FlagMode.ADD, frozenset({"\\Deleted"}))
        await store.messages.expunge(inbox.id)
        state = await store.acl.quotas.get(ALICE)
        assert (state.storage_used, state.messages_used) == await _recount(store, "alice")
        await store.mailboxes.delete(alice.id, "Work")  # cascade deletes count too
        state = await store.acl.quotas.get(ALICE)
        assert (state.storage_used, state.messages_used) == await _recount(store, "alice")
        assert state.messages_used == 3  # 5 appended, 1 expunged, Work's copy of 1 gone
    finally:
        await store.close()


async def test_over_quota_refuses_and_writes_nothing(tmp_path: Path) -> None:
    store = await _open(tmp_path)
    try:
        alice = await store.users.create("alice", "$argon2id$x")
        inbox = await store.mailboxes.get(alice.id, "INBOX")
        assert inbox is not None
        work = await store.mailboxes.create(alice.id, "Work")
        await store.acl.quotas.set_limits(ALICE, None, 3)
        for i in range(3):
            await _append(store, inbox.id, i)
        with pytest.raises(OverQuota) as info:
            await _append(store, inbox.id, 99)
        assert info.value.resource == "MESSAGE"
        status = await store.mailboxes.status(inbox.id)
        assert status.messages == 3 and status.uidnext == 4  # nothing written, no uid used
        with pytest.raises(OverQuota):
            await store.messages.copy(inbox.id, [1], work.id)
        # MOVE inside one root does not grow usage: allowed at the limit.
        _, mapping = await store.messages.move(inbox.id, [1], work.id)
        assert len(mapping) == 1
        # A lowered limit never blocks cleaning up.
        await store.acl.quotas.set_limits(ALICE, None, 1)
        await store.messages.store_flags(work.id, [1], FlagMode.ADD, frozenset({"\\Deleted"}))
        assert await store.messages.expunge(work.id) == [1]
        await store.acl.quotas.set_limits(ALICE, 200, None)
        with pytest.raises(OverQuota) as info:
            await _append(store, inbox.id, 7, pad=200)
        assert info.value.resource == "STORAGE"
    finally:
        await store.close()


async def test_move_across_roots_charges_destination(tmp_path: Path) -> None:
    store = await _open(tmp_path)
    try:
        alice = await store.users.create("alice", "$argon2id$x")
        inbox = await store.mailboxes.get(alice.id, "INBOX")
        assert inbox is not None
        await store.acl.groups.create("sales")
        shared = await store.acl.shared.create("sales", "sales")
        root = QuotaRoot(QuotaRootKind.SHARED, "sales")
        await store.acl.quotas.set_limits(root, None, 1)
        await _append(store, inbox.id, 1)
        await _append(store, inbox.id, 2)
        await store.messages.move(inbox.id, [1], shared.mailbox.id)
        with pytest.raises(OverQuota):
            await store.messages.move(inbox.id, [2], shared.mailbox.id)
        assert (await store.acl.quotas.get(root)).messages_used == 1
        assert (await store.acl.quotas.get(ALICE)).messages_used == 1
        child = await store.mailboxes.create(shared.mailbox.user_id, "sales/2024")
        with pytest.raises(OverQuota):  # children count toward the shared root
            await _append(store, child.id, 3)
    finally:
        await store.close()


async def test_concurrent_appends_never_pass_the_limit(tmp_path: Path) -> None:
    store = await _open(tmp_path)
    try:
        alice = await store.users.create("alice", "$argon2id$x")
        inbox = await store.mailboxes.get(alice.id, "INBOX")
        assert inbox is not None
        await store.acl.quotas.set_limits(ALICE, None, 10)

        async def one(i: int) -> bool:
            try:
                await _append(store, inbox.id, i)
            except OverQuota:
                return False
            return True
        results = await asyncio.gather(*(one(i) for i in range(40)))
        assert sum(results) == 10
        state = await store.acl.quotas.get(ALICE)
        assert state.messages_used == 10 == (await store.mailboxes.status(inbox.id)).messages
        assert (state.storage_used, state.messages_used) == await _recount(store, "alice")
    finally:
        await store.close()


async def test_state_survives_reopen_and_holder_cannot_log_in(tmp_path: Path) -> None:
    store = await _open(tmp_path)
    try:
        alice = await store.users.create("alice", "$argon2id$x")
        await store.users.create("bob", "$argon2id$x")
        await store.acl.groups.create("sales")
        await store.acl.groups.add_member("sales", alice.id)
        await store.acl.roles.set(alice.id, "auditor")
        box = await store.mailboxes.create(alice.id, "Projects")
        await store.acl.acl.set(box.id, Grantee(GranteeKind.USER, "bob"), "lr")
        await store.acl.shared.create("sales", "sales")
        await store.acl.quotas.set_limits(ALICE, 10_000, 7)
    finally:
        await store.close()
    store = await _open(tmp_path)
    try:
        alice2 = await store.users.get("alice")
        assert alice2 is not None
        assert await store.acl.groups.groups_of(alice2.id) == {"sales"}
        assert await store.acl.roles.get(alice2.id) == "auditor"
        assert [e.rights for e in await store.acl.acl.get(box.id)] == ["lr"]
        assert (await store.acl.quotas.get(ALICE)).message_limit == 7
        holder = await store.users.get("#shared")
        assert holder is not None and holder.is_disabled
    finally:
        await store.close()


def test_migration_backfills_usage(tmp_path: Path) -> None:
    """Messages stored before migration 0003 get exact usage rows when it runs."""
    async def build() -> None:
        store = await _open(tmp_path)
        try:
            alice = await store.users.create("alice", "$argon2id$x")
            inbox = await store.mailboxes.get(alice.id, "INBOX")
            assert inbox is not None
            await _append(store, inbox.id, 1)
            await _append(store, inbox.id, 2)
        finally:
            await store.close()
    asyncio.run(build())
    db = tmp_path / "data" / "mailfort.db"
    script = (importlib.resources.files("mailfort.store.sqlite") / "migrations"
              / "0003_acl.sql").read_text(encoding="utf-8")
    conn = sqlite3.connect(db, isolation_level=None)
    try:  # undo 0003 (as if the messages predate it), then run it again by hand
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.execute("BEGIN")
        for name in ("messages_usage_added", "messages_usage_removed"):
            conn.execute(f"DROP TRIGGER {name}")
        for table in ("mailbox_usage", "user_quotas", "shared_mailboxes", "acl_entries",
                      "user_roles", "group_members", "groups"):
            conn.execute(f"DROP TABLE {table}")
        assert conn.execute("SELECT count(*) FROM messages").fetchone()[0] == 2
        q.apply_migration(conn, 3, script)
        conn.execute(f"PRAGMA user_version = {int(version)}")
        conn.execute("COMMIT")
    finally:
        conn.close()

    async def check() -> None:
        store = await _open(tmp_path)
        try:
            state = await store.acl.quotas.get(ALICE)
            assert (state.storage_used, state.messages_used) == await _recount(store, "alice")
            assert state.messages_used == 2
        finally:
            await store.close()
    asyncio.run(check())


async def test_generation_sees_another_process_within_the_staleness_bound(
        tmp_path: Path) -> None:
    """``mailfort acl set`` runs in another process on the same database: the server's
    in-memory generation must learn of it after at most GENERATION_STALE_S (one read), and
    never by a query per call before that."""
    from mailfort.store.acl import GENERATION_STALE_S
    from mailfort.store.sqlite.acl import SqliteAclStore

    class Clock:
        def __init__(self) -> None:
            self.t = 1000.0

        def now(self) -> float:
            return self.t

        def monotonic(self) -> float:
            return self.t

    server = await _open(tmp_path)
    cli = await _open(tmp_path)  # a second store on the same files, as the CLI opens it
    try:
        alice = await server.users.create("alice", "$argon2id$x")
        await server.users.create("bob", "$argon2id$x")
        box = await server.mailboxes.create(alice.id, "Projects")
        clock = Clock()
        watched = SqliteAclStore(server._db, clock, lambda ids: None)  # noqa: SLF001
        before = await watched.acl.generation()
        await cli.acl.acl.set(box.id, Grantee(GranteeKind.USER, "bob"), "lr")
        clock.t += GENERATION_STALE_S / 2
        assert await watched.acl.generation() == before  # served from memory
        clock.t += GENERATION_STALE_S
        assert await watched.acl.generation() > before  # read again: the CLI's change
    finally:
        await cli.close()
        await server.close()
