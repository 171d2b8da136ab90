"""``SqliteMailStore``: the embedded backend of ``store.api``.

One SQLite database (``mailfort.db``, WAL, ``synchronous=FULL``). Every write transaction is a
job on ONE dedicated writer thread (a single-worker executor), so the event loop never waits on
fsync and writes are serialised without locks; jobs that queue up meanwhile share the next
transaction and its fsync (group commit, ``_Database.write``). Messages under 64 KiB are kept
in the database (``inline_blobs``), so their delivery costs that one fsync. Reads run on a
second thread with its own read-only connection (see ``_Database``). Larger message blobs are
files (``blobs.py``), written
and fsynced on a separate small pool *before* the transaction that references them, so blob
I/O of one delivery overlaps the commit of another.

A write is durable when its coroutine returns: the commit has been fsynced to the WAL. After
every committed write that changes a mailbox the notifier schedules that mailbox's subscribers
on the event loop.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import datetime as dt
import importlib.resources
import os
import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypeVar, cast

from mailfort.core.clock import Clock, SystemClock
from mailfort.mail.message import ParsedMessage
from mailfort.mail.search import SearchKey
from mailfort.store.api import DEFAULT_MAILBOXES
from mailfort.store.errors import InvalidMailboxName, StoreError
from mailfort.store.sqlite import queries as q
from mailfort.store.sqlite.acl import SqliteAclStore, charged
from mailfort.store.sqlite.blobs import BlobStore, blob_id_of
from mailfort.store.sqlite.labels import SqliteLabelStore
from mailfort.store.sqlite.notifier import InProcessNotifier
from mailfort.store.sqlite.security import SqliteSecurityStore
from mailfort.store.types import (
    AppendResult,
    BlobId,
    Change,
    FlagMode,
    FlagUpdate,
    MailboxId,
    MailboxInfo,
    MailboxStatus,
    MessageMeta,
    SearchData,
    SearchHits,
    Snapshot,
    User,
    UserId,
)

__all__ = ["SqliteMailStore", "open_sqlite_store", "normalize_mailbox_name", "DB_FILENAME"]

T = TypeVar("T")

DB_FILENAME: Final = "mailfort.db"
_MIGRATIONS: Final = ((1, "0001_initial.sql"), (2, "0002_security.sql"), (3, "0003_acl.sql"),
                        (5, "0005_labels.sql"), (6, "0006_guard_counters.sql"))
# 0004 (the SEARCH index, inline blobs) is applied by its own rule: see SqliteMailStore.migrate.
_SEARCH_INDEX_MIGRATION: Final = (4, "0004_search_index.sql")
# Messages below this size are kept inside the database (one fsync: the commit's); larger
# ones are blob files. docs/decisions/003-blob-storage.md has the measurements.
INLINE_BLOB_MAX_BYTES: Final = 64 * 1024
# Write jobs that queued up while the writer was busy are committed together, one fsync.
# Read-only connections, each on its own thread: a small read need not wait behind a big one.
READER_LANES: Final = 2
_MAX_GROUP_COMMIT: Final = 64
# Memory for FETCH's precomputed items kept in the process (about 1 KB a message: 20,000
# messages take ~25 MB).
CONTENT_CACHE_BYTES: Final = 64 * 1024 * 1024
MAX_MAILBOX_NAME_CHARS: Final = 1024
MAX_MAILBOX_DEPTH: Final = 64
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")


def normalize_mailbox_name(name: str) -> str:
    """The stored form of a mailbox name: "INBOX" (any case) and its children canonical.
    InvalidMailboxName for empty names, empty or over-deep levels, control characters and
    over-long names. ``*`` and ``%`` are refused: they are LIST wildcards."""
    if not name or len(name) > MAX_MAILBOX_NAME_CHARS or _CONTROL.search(name):
        raise InvalidMailboxName(name[:64])
    levels = name.split("/")
    if len(levels) > MAX_MAILBOX_DEPTH or any(not level for level in levels):
        raise InvalidMailboxName(name[:64])
    if "*" in name or "%" in name:
        raise InvalidMailboxName(name[:64])
    if levels[0].upper() == "INBOX":
        levels[0] = "INBOX"
    return "/".join(levels)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


@dataclass(slots=True)
class _WriteJob:
    fn: Callable[[sqlite3.Connection], object]
    future: asyncio.Future[object]
    loop: asyncio.AbstractEventLoop
    is_durable: bool


def _settle(future: asyncio.Future[object], is_ok: bool, value: object) -> None:
    if future.done():  # the caller was cancelled
        return
    if is_ok:
        future.set_result(value)
    elif isinstance(value, Exception):
        future.set_exception(value)
    else:
        future.set_exception(StoreError("the write was interrupted"))


class _Lane:
    """One connection and the one thread that uses it."""

    def __init__(self, path: Path, name: str, is_writer: bool) -> None:
        self._path = path
        self._is_writer = is_writer
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=name)
        self._conn: sqlite3.Connection | None = None
        self._sync = "FULL"  # q.SQL_PRAGMAS sets synchronous = FULL

    def _connect(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False,
                               cached_statements=256)
        try:
            if self._is_writer:
                os.chmod(self._path, 0o600)
            for pragma in q.SQL_PRAGMAS:
                conn.execute(pragma)
            if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                raise StoreError("the database could not be put in WAL mode")
            if not self._is_writer:
                conn.execute("PRAGMA query_only = ON")
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _in_transaction(self, fn: Callable[[sqlite3.Connection], T], begin: str) -> T:
        conn = self._conn
        if conn is None:
            raise StoreError("the store is closed")
        conn.execute(begin)
        try:
            result = fn(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    async def submit(self, job: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, job)

    def post(self, job: Callable[[], None]) -> None:
        """Queue ``job`` on the lane's thread without waiting for it."""
        self._executor.submit(job)

    def run_batch(self, fns: Sequence[Callable[[sqlite3.Connection], object]],
                  is_durable: bool) -> list[tuple[bool, object]]:
        """On the lane's thread: one write transaction for all ``fns``; per fn (ok, result or
        exception). A lone fn runs without a savepoint and its exception rolls back."""
        conn = self._conn
        if conn is None:
            raise StoreError("the store is closed")
        sync = "FULL" if is_durable else "NORMAL"
        if sync != self._sync:
            conn.execute(f"PRAGMA synchronous = {sync}")
            self._sync = sync
        if len(fns) == 1:
            try:
                return [(True, self._in_transaction(fns[0], "BEGIN IMMEDIATE"))]
            except Exception as exc:
                return [(False, exc)]
        outcomes: list[tuple[bool, object]] = []
        conn.execute("BEGIN IMMEDIATE")
        try:
            for fn in fns:
                conn.execute("SAVEPOINT job")
                try:
                    result = fn(conn)
                except Exception as exc:
                    conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                    outcomes.append((False, exc))
                    continue
                conn.execute("RELEASE job")
                outcomes.append((True, result))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return outcomes

    async def open(self) -> None:
        await self.submit(self._connect)

    async def transaction(self, fn: Callable[[sqlite3.Connection], T], begin: str) -> T:
        return await self.submit(lambda: self._in_transaction(fn, begin))

    async def close(self) -> None:
        def shut() -> None:
            if self._conn is not None:
                if self._is_writer:
                    self._conn.execute("PRAGMA optimize")
                self._conn.close()
                self._conn = None
        try:
            await self.submit(shut)
        finally:
            self._executor.shutdown(wait=False)


class _Database:
    """The writer lane (every write, serialised) and ``READER_LANES`` read-only lanes.

    Reads get their own connections and threads so that a long read (FETCH 1:* of a large
    mailbox, SEARCH) never holds up commits, and reads are not queued behind fsyncs. A read
    goes to the reader lane with the fewest reads in flight, so one big read does not hold
    up the small ones behind it (WAL lets readers run side by side; sqlite3 releases the GIL
    while it steps). In WAL mode a read transaction that starts after a write's commit
    returned sees that write, so a session still reads its own writes.
    """

    def __init__(self, path: Path) -> None:
        self._writer = _Lane(path, "mailfort-sqlite-w", is_writer=True)
        self._readers = [_Lane(path, f"mailfort-sqlite-r{i}", is_writer=False)
                         for i in range(READER_LANES)]
        self._in_flight = [0] * READER_LANES  # reads queued or running, per reader lane
        self._is_reader_open = False
        # Filled on the event loop, emptied on the writer thread (deque ops are atomic).
        self._queue: collections.deque[_WriteJob] = collections.deque()

    async def open(self) -> None:
        await self._writer.open()

    async def open_reader(self) -> None:
        """After migrations: the reader needs the schema in place."""
        for reader in self._readers:
            await reader.open()
        self._is_reader_open = True

    async def write(self, fn: Callable[[sqlite3.Connection], T], *,
                    is_durable: bool = True) -> T:
        """Run ``fn`` in a write transaction; returns after the commit (durable: fsynced to
        the WAL; ``is_durable=False`` for advisory state: committed, but its fsync is left to
        the next durable commit).

        Group commit: jobs that queue up while the writer thread is busy are run together,
        each in its own SAVEPOINT (a job that raises is rolled back alone and gets its
        exception), under one BEGIN IMMEDIATE ... COMMIT and so one fsync. Every caller gets
        its result only after that commit.
        """
        return cast(T, await self.write_soon(fn, is_durable=is_durable))

    def write_soon(self, fn: Callable[[sqlite3.Connection], T], *,
                   is_durable: bool = True) -> asyncio.Future[object]:
        """:meth:`write`, queued NOW (before this call returns: writes queued one after the
        other on the loop commit in that order); await the future for the result."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[object] = loop.create_future()
        self._queue.append(_WriteJob(fn, future, loop, is_durable))
        self._writer.post(self._commit_queued)
        return future

    def _commit_queued(self) -> None:
        """On the writer thread: run every queued job in one transaction."""
        jobs: list[_WriteJob] = []
        while self._queue and len(jobs) < _MAX_GROUP_COMMIT:
            jobs.append(self._queue.popleft())
        if not jobs:
            return  # an earlier call took them
        outcomes: list[tuple[bool, object]]
        try:
            outcomes = self._writer.run_batch([j.fn for j in jobs],
                                              any(j.is_durable for j in jobs))
        except BaseException as exc:  # the batch failed as a whole (BEGIN/COMMIT)
            outcomes = [(False, exc)] * len(jobs)
        for job, (is_ok, value) in zip(jobs, outcomes, strict=True):
            try:
                job.loop.call_soon_threadsafe(_settle, job.future, is_ok, value)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                pass

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in a read transaction (one consistent snapshot)."""
        if not self._is_reader_open:
            return await self._writer.transaction(fn, "BEGIN DEFERRED")
        counts = self._in_flight
        i = counts.index(min(counts))
        counts[i] += 1
        try:
            return await self._readers[i].transaction(fn, "BEGIN DEFERRED")
        finally:
            counts[i] -= 1

    async def close(self) -> None:
        try:
            for reader in self._readers:
                await reader.close()
        finally:
            await self._writer.close()


class SqliteUsers:
    def __init__(self, db: _Database, notifier: InProcessNotifier, clock: Clock) -> None:
        self._db = db
        self._notifier = notifier
        self._clock = clock

    async def create(self, name: str, password_hash: str) -> User:
        now = dt.datetime.fromtimestamp(self._clock.now(), dt.UTC)
        return await self._db.write(
            lambda c: q.create_user(c, name, password_hash, now, DEFAULT_MAILBOXES))

    async def get(self, name: str) -> User | None:
        return await self._db.read(lambda c: q.get_user(c, name))

    async def get_by_id(self, user_id: UserId) -> User | None:
        return await self._db.read(lambda c: q.get_user_by_id(c, user_id))

    async def set_password_hash(self, user_id: UserId, password_hash: str) -> None:
        await self._db.write(lambda c: q.set_password_hash(c, user_id, password_hash))

    async def delete(self, name: str) -> None:
        gone = await self._db.write(lambda c: q.delete_user(c, name))
        self._notifier.publish(gone)

    async def list(self) -> list[User]:
        return await self._db.read(q.list_users)


class SqliteMailboxes:
    def __init__(self, db: _Database, notifier: InProcessNotifier, clock: Clock) -> None:
        self._db = db
        self._notifier = notifier
        self._clock = clock

    async def create(self, user_id: UserId, name: str,
                     special_use: str | None = None) -> MailboxInfo:
        name = normalize_mailbox_name(name)
        now_s = int(self._clock.now())
        return await self._db.write(
            lambda c: q.create_mailbox(c, user_id, name, special_use, now_s))

    async def get(self, user_id: UserId, name: str) -> MailboxInfo | None:
        try:
            name = normalize_mailbox_name(name)
        except InvalidMailboxName:
            return None
        return await self._db.read(lambda c: q.get_mailbox(c, user_id, name))

    async def list(self, user_id: UserId) -> list[MailboxInfo]:
        return await self._db.read(lambda c: q.list_mailboxes(c, user_id))

    async def delete(self, user_id: UserId, name: str) -> None:
        name = normalize_mailbox_name(name)
        gone = await self._db.write(lambda c: q.delete_mailbox(c, user_id, name))
        self._notifier.publish((gone,))

    async def rename(self, user_id: UserId, old: str, new: str) -> None:
        old = normalize_mailbox_name(old)
        new = normalize_mailbox_name(new)
        await self._db.write(lambda c: q.rename_mailbox(c, user_id, old, new))

    async def set_subscribed(self, user_id: UserId, name: str, is_subscribed: bool) -> None:
        name = normalize_mailbox_name(name)
        await self._db.write(lambda c: q.set_subscribed(c, user_id, name, is_subscribed))

    async def subscriptions(self, user_id: UserId) -> set[str]:
        return await self._db.read(lambda c: q.subscriptions(c, user_id))

    async def status(self, mailbox_id: MailboxId) -> MailboxStatus:
        return await self._db.read(lambda c: q.mailbox_status(c, mailbox_id))


# A write changing more than this many messages publishes no delta: sessions read the log.
_MAX_DELTA_CHANGES: Final = 10_000


@dataclass(frozen=True, slots=True)
class _Delta:
    """The change-log rows one write added to a mailbox: every change with
    ``before < modseq <= after``. Valid while ``publications`` is still the mailbox's count."""

    publications: int
    before: int
    after: int
    changes: list[Change]


def _ignore_result(future: asyncio.Future[object]) -> None:
    if not future.cancelled():
        future.exception()  # retrieved: an advisory write that failed is not worth a warning


class SqliteMessages:
    def __init__(self, db: _Database, blobs: BlobStore, blob_pool: concurrent.futures.Executor,
                 notifier: InProcessNotifier) -> None:
        self._db = db
        self._blobs = blobs
        self._blob_pool = blob_pool
        self._notifier = notifier
        # What the latest write to a watched mailbox changed (see _Delta): sessions woken by
        # it read their changes from here, without a store read or a suspension (an APPEND
        # wakes 10,000 idlers at once).
        self._deltas: dict[MailboxId, _Delta] = {}
        # FETCH's precomputed items (ENVELOPE, BODY, BODYSTRUCTURE, MIME tree) by content:
        # a warm FETCH reads the narrow messages table only (BENCHMARKS.md, "cached FETCH").
        self._contents = q.ContentCache(CONTENT_CACHE_BYTES)
        self._delta_high: dict[MailboxId, int] = {}  # the highest modseq a delta reached
        # Change-log reads in flight, shared by every session that asks for the same mailbox
        # and modseq while no newer write was published. Value: (publications when the read
        # began, the read).
        self._change_reads: dict[tuple[MailboxId, int],
                                 tuple[int, asyncio.Future[list[Change]]]] = {}
        # Each mailbox's \Recent mark as this process last set it (see claim_recent).
        self._recent_marks: dict[MailboxId, int] = {}
        self._claims_in_store: dict[MailboxId, int] = {}  # claims being decided in the store

    async def append(self, mailbox_id: MailboxId, raw: bytes, parsed: ParsedMessage,
                     flags: frozenset[str], internal_date: dt.datetime) -> AppendResult:
        encoded = q.encode_flags(flags)
        when = _aware(internal_date)
        blob_id = blob_id_of(raw)
        loop = asyncio.get_running_loop()
        if len(raw) < INLINE_BLOB_MAX_BYTES:  # one transaction, one fsync: no blob file
            def deliver(c: sqlite3.Connection) -> AppendResult:
                q.insert_inline_blob(c, blob_id, raw)
                return q.append_message(c, mailbox_id, blob_id, parsed, encoded, when)
            return await self._write_and_publish(
                (mailbox_id,), lambda c: charged(c, mailbox_id, deliver))
        with self._blobs.reserve(blob_id):
            await loop.run_in_executor(self._blob_pool, self._blobs.write, blob_id, raw)
            return await self._write_and_publish((mailbox_id,), lambda c: charged(
                c, mailbox_id,
                lambda c: q.append_message(c, mailbox_id, blob_id, parsed, encoded, when)))

    async def _write_and_publish(self, mailbox_ids: tuple[MailboxId, ...],
                                 fn: Callable[[sqlite3.Connection], T],
                                 should_publish: Callable[[T], bool] = lambda _: True) -> T:
        """Run the write ``fn``; then, if ``should_publish(result)``, publish ``mailbox_ids``
        with what the write changed in each watched one (the change-log rows it added, read
        in the same transaction: the woken sessions need not read them again)."""
        watched = tuple(m for m in mailbox_ids if self._notifier.subscriber_count(m))
        if not watched:
            result = await self._db.write(fn)
            if should_publish(result):
                self._notifier.publish(mailbox_ids)
            return result

        def tracked(c: sqlite3.Connection) -> tuple[T, list[tuple[int, list[Change] | None]]]:
            before = [q.highest_modseq(c, m) for m in watched]
            result = fn(c)
            return result, [(b, q.changes_since(c, m, b, limit=_MAX_DELTA_CHANGES))
                            for m, b in zip(watched, before, strict=True)]
        result, deltas = await self._db.write(tracked)
        if should_publish(result):
            self._notifier.publish(mailbox_ids)
            for m in mailbox_ids:
                self._deltas.pop(m, None)
            for m, (before, changes) in zip(watched, deltas, strict=True):
                after = max((ch.modseq for ch in changes or ()), default=before)
                # Writes commit and publish in queue order; should a later write ever publish
                # first, the earlier one's delta would hide it: keep none then.
                if changes is not None and before >= self._delta_high.get(m, 0):
                    self._deltas[m] = _Delta(self._notifier.publications(m), before, after,
                                             changes)
                self._delta_high[m] = max(after, self._delta_high.get(m, 0))
        return result

    async def snapshot(self, mailbox_id: MailboxId) -> Snapshot:
        return await self._db.read(lambda c: q.snapshot(c, mailbox_id))

    async def claim_recent(self, mailbox_id: MailboxId, up_to_uid: int | None = None) -> int:
        # \Recent is advisory (RFC 3501 §2.3.2; gone in RFC 9051): the claim is committed
        # without an fsync of its own, so SELECT costs no durable write. A crash may hand the
        # same messages to a session again as \Recent; no message data is at stake.
        #
        # Only this process claims (one server per data directory), so once SELECT has read a
        # mailbox's mark, later claims (a session that learned of new messages) are decided
        # here, on the loop, and the new mark is written behind, queued before any later
        # write: the 10,000 idlers woken by one APPEND claim without a write or a wait each.
        mark = self._recent_marks.get(mailbox_id)
        if mark is None or up_to_uid is None or mailbox_id in self._claims_in_store:
            # In the store; and while one is in flight, every claim of the mailbox is, so
            # they are decided in the order they were made.
            self._claims_in_store[mailbox_id] = self._claims_in_store.get(mailbox_id, 0) + 1
            try:
                old, new = await self._db.write(
                    lambda c: q.claim_recent(c, mailbox_id, up_to_uid), is_durable=False)
            finally:
                left = self._claims_in_store.pop(mailbox_id) - 1
                if left:
                    self._claims_in_store[mailbox_id] = left
            self._recent_marks[mailbox_id] = max(new, self._recent_marks.get(mailbox_id, 0))
            return old
        if up_to_uid >= mark:
            new_mark = up_to_uid + 1
            self._recent_marks[mailbox_id] = new_mark
            behind = self._db.write_soon(
                lambda c: q.raise_recent_mark(c, mailbox_id, new_mark), is_durable=False)
            behind.add_done_callback(_ignore_result)
        return mark

    async def changes_since(self, mailbox_id: MailboxId, modseq: int) -> list[Change]:
        delta = self._deltas.get(mailbox_id)
        if delta is not None and delta.before <= modseq and \
                delta.publications == self._notifier.publications(mailbox_id):
            if modseq == delta.before:
                return list(delta.changes)
            return [ch for ch in delta.changes if ch.modseq > modseq]
        key = (mailbox_id, modseq)
        published = self._notifier.publications(mailbox_id)
        entry = self._change_reads.get(key)
        if entry is None or entry[0] != published:  # none, or begun before a newer write
            read = asyncio.ensure_future(
                self._db.read(lambda c: q.changes_since(c, mailbox_id, modseq)))
            self._change_reads[key] = entry = (published, read)
            read.add_done_callback(lambda _: self._forget_read(key, read))
        return list(await asyncio.shield(entry[1]))

    def _forget_read(self, key: tuple[MailboxId, int],
                     read: asyncio.Future[list[Change]]) -> None:
        entry = self._change_reads.get(key)
        if entry is not None and entry[1] is read:
            del self._change_reads[key]

    async def fetch_meta(self, mailbox_id: MailboxId, uids: Sequence[int]) -> list[MessageMeta]:
        return await self._db.read(lambda c: q.fetch_meta(c, mailbox_id, uids, self._contents))

    async def search_data(self, mailbox_id: MailboxId, uids: Sequence[int]) -> list[SearchData]:
        return await self._db.read(lambda c: q.search_data(c, mailbox_id, uids))

    async def search(self, mailbox_id: MailboxId, key: SearchKey) -> SearchHits:
        return await self._db.read(lambda c: q.search_uids(c, mailbox_id, key))

    async def read_blob(self, blob_id: BlobId) -> bytes:
        inline = await self._db.read(lambda c: q.inline_blob(c, blob_id))
        if inline is not None:
            return inline
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._blob_pool, self._blobs.read, blob_id)

    async def store_flags(self, mailbox_id: MailboxId, uids: Sequence[int], mode: FlagMode,
                          flags: frozenset[str], unchanged_since: int | None = None,
                          ) -> tuple[list[FlagUpdate], list[int]]:
        encoded = q.encode_flags(flags)
        return await self._write_and_publish(
            (mailbox_id,),
            lambda c: q.store_flags(c, mailbox_id, uids, mode, encoded, unchanged_since),
            lambda result: bool(result[0]))

    async def expunge(self, mailbox_id: MailboxId, uids: Sequence[int] | None = None) -> list[int]:
        return await self._write_and_publish(
            (mailbox_id,), lambda c: q.expunge(c, mailbox_id, uids), bool)

    async def copy(self, src: MailboxId, uids: Sequence[int], dst: MailboxId,
                   ) -> tuple[int, list[tuple[int, int]]]:
        return await self._write_and_publish((dst,), lambda c: charged(
            c, dst, lambda c: q.copy_messages(c, src, uids, dst, False)),
            lambda result: bool(result[1]))

    async def move(self, src: MailboxId, uids: Sequence[int], dst: MailboxId,
                   ) -> tuple[int, list[tuple[int, int]]]:
        return await self._write_and_publish((dst, src), lambda c: charged(
            c, dst, lambda c: q.copy_messages(c, src, uids, dst, True)),
            lambda result: bool(result[1]))


class SqliteMailStore:
    """Implements ``store.api.MailStore``. Build it with :func:`open_sqlite_store`; use it from
    the event loop it was opened on."""

    def __init__(self, data_dir: Path, db: _Database, blobs: BlobStore,
                 notifier: InProcessNotifier, clock: Clock) -> None:
        self._data_dir = data_dir
        self._db = db
        self._blobs = blobs
        self._blob_pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=2, thread_name_prefix="mailfort-blobs")
        self._notifier = notifier
        self._users = SqliteUsers(db, notifier, clock)
        self._mailboxes = SqliteMailboxes(db, notifier, clock)
        self._messages = SqliteMessages(db, blobs, self._blob_pool, notifier)
        self._security = SqliteSecurityStore(db)
        self._labels = SqliteLabelStore(db)
        self._acl = SqliteAclStore(db, clock, notifier.publish)
        self._is_closed = False

    @property
    def users(self) -> SqliteUsers:
        return self._users

    @property
    def mailboxes(self) -> SqliteMailboxes:
        return self._mailboxes

    @property
    def messages(self) -> SqliteMessages:
        return self._messages

    @property
    def security(self) -> SqliteSecurityStore:
        """Account-security state (``store.security.SecurityStore``) in the same database."""
        return self._security

    @property
    def labels(self) -> SqliteLabelStore:
        """Mailbox labels and honeytokens (``store.labels.LabelStore``), same database."""
        return self._labels

    @property
    def acl(self) -> SqliteAclStore:
        """Groups, roles, ACLs, shared mailboxes and quotas (``store.acl.AclStore``) in the
        same database. Quota limits are enforced by ``messages`` append/copy/move."""
        return self._acl

    @property
    def notifier(self) -> InProcessNotifier:
        return self._notifier

    @property
    def data_dir(self) -> Path:
        return self._data_dir

    async def migrate(self) -> None:
        """Bring the schema to the newest version, one transaction per migration."""
        package = importlib.resources.files("mailfort.store.sqlite") / "migrations"
        for version, filename in _MIGRATIONS:
            script = (package / filename).read_text(encoding="utf-8")

            def step(c: sqlite3.Connection, version: int = version, script: str = script) -> None:
                if q.schema_version(c) < version:
                    q.apply_migration(c, version, script)
            await self._db.write(step)
        # Applied whenever its tables are missing, whatever user_version says (it was numbered
        # after 0005 had shipped to some databases), in one transaction with the backfill.
        index_script = (package / _SEARCH_INDEX_MIGRATION[1]).read_text(encoding="utf-8")
        await self._db.write(lambda c: q.apply_search_index_migration(
            c, _SEARCH_INDEX_MIGRATION[0], index_script))

    async def collect_garbage(self) -> int:
        """Remove parsed contents and blob files no message references (orphans of a crash
        between blob write and commit, and what EXPUNGE/DELETE left). Runs on the database
        thread, so no commit interleaves; blobs of deliveries in flight are reserved and kept.
        Returns the number of blob files removed."""
        def sweep(c: sqlite3.Connection) -> int:
            q.delete_unreferenced_contents(c)
            q.delete_unindexed_docs(c)
            return self._blobs.sweep(q.referenced_blobs(c))
        return await self._db.write(sweep)

    async def close(self) -> None:
        if self._is_closed:
            return
        self._is_closed = True
        try:
            await self._db.close()
        finally:
            self._blob_pool.shutdown(wait=False)


def _prepare_data_dir(data_dir: Path, blobs: BlobStore) -> None:
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(data_dir, 0o700)  # secure by default even when it existed
    blobs.ensure_root()


async def open_sqlite_store(data_dir: Path, *, clock: Clock | None = None) -> SqliteMailStore:
    """Create ``data_dir`` (mode 0700) if needed, open ``mailfort.db``, run migrations and
    sweep garbage left by a crash. Call from the event loop that will use the store."""
    blobs = BlobStore(data_dir / "blobs")
    await asyncio.to_thread(_prepare_data_dir, data_dir, blobs)
    db = _Database(data_dir / DB_FILENAME)
    store = SqliteMailStore(data_dir, db, blobs, InProcessNotifier(asyncio.get_running_loop()),
                            clock or SystemClock())
    try:
        await db.open()
        await store.migrate()
        await db.open_reader()
        await store.collect_garbage()
    except BaseException:
        await store.close()
        raise
    return store
