"""``SqliteAclStore``: the SQLite implementation of every Protocol in ``store.acl``.

It shares the mail store's database, writer thread and reader thread (``store._Database``);
its schema is ``migrations/0003_acl.sql``. Quota usage is kept by triggers on ``messages``
(same transaction as each insert and delete); :func:`charged` wraps a message-inserting job
so the limit check runs in that same write transaction, after the insert and before the
commit, and rolls the whole job back with :class:`OverQuota`. One writer thread serialises
every write, so two concurrent APPENDs cannot both slip under a limit.

Build it through ``SqliteMailStore.acl``; nothing else constructs it.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from mailfort.core.clock import Clock
from mailfort.store.acl import (
    GENERATION_STALE_S,
    SHARED_HOLDER,
    AclRecord,
    Grantee,
    GranteeKind,
    Group,
    GroupExists,
    NoSuchGroup,
    NoSuchSharedMailbox,
    OverQuota,
    QuotaRoot,
    QuotaRootKind,
    QuotaState,
    SharedMailbox,
    SharedMailboxExists,
)
from mailfort.store.errors import (
    InvalidMailboxName,
    MailboxExists,
    NoSuchMailbox,
    NoSuchUser,
    StoreError,
)
from mailfort.store.sqlite import queries as q
from mailfort.store.types import MailboxId, MailboxInfo, UserId

__all__ = ["SqliteAclStore", "SqliteGroups", "SqliteRoles", "SqliteAclEntries",
           "SqliteSharedMailboxes", "SqliteQuotas", "charged", "ROLES"]

T = TypeVar("T")
ROLES = ("admin", "auditor", "user")
_SELECT_MAILBOX = ("SELECT m.id, m.user_id, m.name, m.uidvalidity, m.uidnext, m.highest_modseq,"
                   " m.special_use FROM mailboxes m")


class _Db(Protocol):
    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T: ...
    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T: ...


def _mailbox(row: Any) -> MailboxInfo:
    mid, user_id, name, uidvalidity, uidnext, hms, special_use = row
    return MailboxInfo(MailboxId(int(mid)), UserId(int(user_id)), str(name), int(uidvalidity),
                       int(uidnext), int(hms), None if special_use is None else str(special_use))


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _group_id(c: sqlite3.Connection, name: str) -> int:
    row = c.execute("SELECT id FROM groups WHERE name_key = ?", (name.casefold(),)).fetchone()
    if row is None:
        raise NoSuchGroup(name)
    return int(row[0])


def _user_id_by_name(c: sqlite3.Connection, name: str) -> int:
    row = c.execute("SELECT id FROM users WHERE name_key = ?", (name.casefold(),)).fetchone()
    if row is None or name.casefold() == SHARED_HOLDER:
        raise NoSuchUser(name)
    return int(row[0])


def _require_user(c: sqlite3.Connection, user_id: UserId) -> None:
    if c.execute("SELECT 1 FROM users WHERE id = ?", (int(user_id),)).fetchone() is None:
        raise NoSuchUser(str(user_id))


def _holder(c: sqlite3.Connection) -> int | None:
    row = c.execute("SELECT id FROM users WHERE name_key = ?", (SHARED_HOLDER,)).fetchone()
    return None if row is None else int(row[0])


def _ensure_holder(c: sqlite3.Connection, now: float) -> int:
    existing = _holder(c)
    if existing is not None:
        return existing
    cur = c.execute(
        "INSERT INTO users (name, name_key, password_hash, created_at, is_disabled)"
        " VALUES (?, ?, '!', ?, 1)",
        (SHARED_HOLDER, SHARED_HOLDER, dt.datetime.fromtimestamp(now, dt.UTC).isoformat()))
    return int(cur.lastrowid or 0)


# --------------------------------------------------------------------------- quota

def _usage(c: sqlite3.Connection, root: _Root) -> tuple[int, int]:
    """(storage bytes, messages) of a root: a sum over its few mailbox_usage rows."""
    if root.shared is None:
        row = c.execute("SELECT total(u.storage), total(u.messages) FROM mailbox_usage u"
                        " JOIN mailboxes m ON m.id = u.mailbox_id WHERE m.user_id = ?",
                        (root.user_id,)).fetchone()
    else:
        prefix = root.shared + "/"
        row = c.execute("SELECT total(u.storage), total(u.messages) FROM mailbox_usage u"
                        " JOIN mailboxes m ON m.id = u.mailbox_id WHERE m.user_id = ?"
                        " AND (m.name = ? OR substr(m.name, 1, ?) = ?)",
                        (root.user_id, root.shared, len(prefix), prefix)).fetchone()
    return int(row[0]), int(row[1])


@dataclass(frozen=True, slots=True)
class _Root:
    user_id: int
    shared: str | None  # top-level shared name when the holder owns the mailbox


def _root_of(c: sqlite3.Connection, mailbox_id: MailboxId) -> _Root:
    row = c.execute("SELECT user_id, name FROM mailboxes WHERE id = ?",
                    (int(mailbox_id),)).fetchone()
    if row is None:
        raise NoSuchMailbox(str(mailbox_id))
    user_id, name = int(row[0]), str(row[1])
    if user_id == _holder(c):
        return _Root(user_id, name.split("/", 1)[0])
    return _Root(user_id, None)


def _limits(c: sqlite3.Connection, root: _Root) -> tuple[int | None, int | None]:
    if root.shared is None:
        row = c.execute("SELECT storage_limit, message_limit FROM user_quotas WHERE user_id = ?",
                        (root.user_id,)).fetchone()
    else:
        row = c.execute("SELECT storage_limit, message_limit FROM shared_mailboxes"
                        " WHERE name = ?", (root.shared,)).fetchone()
    return (None, None) if row is None else (_opt_int(row[0]), _opt_int(row[1]))


def charged(c: sqlite3.Connection, mailbox_id: MailboxId,
            job: Callable[[sqlite3.Connection], T]) -> T:
    """Run ``job`` (which inserts messages into ``mailbox_id``) and, in the same
    transaction, refuse with OverQuota if it pushed the mailbox's quota root past a limit.
    Only a resource that grew is refused (a MOVE inside one root, an over-limit root being
    cleaned up, always pass). With no limits set this costs three indexed look-ups."""
    try:
        root = _root_of(c, mailbox_id)
    except NoSuchMailbox:
        return job(c)  # the job raises its own NoSuchMailbox
    storage_limit, message_limit = _limits(c, root)
    if storage_limit is None and message_limit is None:
        return job(c)
    before = _usage(c, root)
    result = job(c)
    after = _usage(c, root)
    if storage_limit is not None and after[0] > before[0] and after[0] > storage_limit:
        raise OverQuota("STORAGE")
    if message_limit is not None and after[1] > before[1] and after[1] > message_limit:
        raise OverQuota("MESSAGE")
    return result


# --------------------------------------------------------------------------- generation

_GENERATION_KEY = "acl_generation"  # a row of the schema's `counters` table


def _bump_generation(c: sqlite3.Connection) -> int:
    """In the caller's write transaction: the ACL generation grows by one (any process
    sharing the database sees it)."""
    c.execute("INSERT INTO counters (name, value) VALUES (?, 1)"
              " ON CONFLICT (name) DO UPDATE SET value = value + 1", (_GENERATION_KEY,))
    return _read_generation(c)


def _read_generation(c: sqlite3.Connection) -> int:
    row = c.execute("SELECT value FROM counters WHERE name = ?", (_GENERATION_KEY,)).fetchone()
    return 0 if row is None else int(row[0])


class _Generation:
    """The ACL generation as this process last saw it. Local writes set it at once; the
    database counter is read again (one indexed read) at most every GENERATION_STALE_S, for
    changes made by another process. It never goes backwards."""

    def __init__(self, db: _Db, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._value = -1
        self._checked_at: float | None = None

    def saw(self, value: int) -> None:
        self._value = max(self._value, value)

    async def current(self) -> int:
        now = self._clock.monotonic()
        if self._checked_at is None or now - self._checked_at >= GENERATION_STALE_S:
            self._checked_at = now
            self.saw(await self._db.read(_read_generation))
        return self._value

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` then bump the generation, in one write transaction."""
        def job(c: sqlite3.Connection) -> tuple[T, int]:
            result = fn(c)
            return result, _bump_generation(c)
        result, value = await self._db.write(job)
        self.saw(value)
        return result


# --------------------------------------------------------------------------- groups

class SqliteGroups:
    def __init__(self, db: _Db, clock: Clock, generation: _Generation | None = None) -> None:
        self._db = db
        self._clock = clock
        self._generation = generation or _Generation(db, clock)

    async def create(self, name: str) -> Group:
        now = self._clock.now()

        def job(c: sqlite3.Connection) -> Group:
            try:
                c.execute("INSERT INTO groups (name, name_key, created_at) VALUES (?, ?, ?)",
                          (name, name.casefold(), now))
            except sqlite3.IntegrityError:
                raise GroupExists(name) from None
            return Group(name, now)
        return await self._db.write(job)

    async def delete(self, name: str) -> None:
        def job(c: sqlite3.Connection) -> None:
            gid = _group_id(c, name)
            if c.execute("SELECT 1 FROM shared_mailboxes WHERE group_id = ?",
                         (gid,)).fetchone() is not None:
                raise StoreError("the group owns a shared mailbox")
            c.execute("DELETE FROM groups WHERE id = ?", (gid,))
        await self._generation.write(job)

    async def get(self, name: str) -> Group | None:
        def job(c: sqlite3.Connection) -> Group | None:
            row = c.execute("SELECT name, created_at FROM groups WHERE name_key = ?",
                            (name.casefold(),)).fetchone()
            return None if row is None else Group(str(row[0]), float(row[1]))
        return await self._db.read(job)

    async def list(self) -> builtins.list[Group]:
        def job(c: sqlite3.Connection) -> builtins.list[Group]:
            return [Group(str(n), float(t)) for n, t in c.execute(
                "SELECT name, created_at FROM groups ORDER BY name_key")]
        return await self._db.read(job)

    async def add_member(self, group: str, user_id: UserId) -> bool:
        def job(c: sqlite3.Connection) -> bool:
            gid = _group_id(c, group)
            _require_user(c, user_id)
            cur = c.execute("INSERT OR IGNORE INTO group_members (group_id, user_id)"
                            " VALUES (?, ?)", (gid, int(user_id)))
            return cur.rowcount == 1
        return await self._generation.write(job)

    async def remove_member(self, group: str, user_id: UserId) -> bool:
        def job(c: sqlite3.Connection) -> bool:
            gid = _group_id(c, group)
            cur = c.execute("DELETE FROM group_members WHERE group_id = ? AND user_id = ?",
                            (gid, int(user_id)))
            return cur.rowcount == 1
        return await self._generation.write(job)

    async def members(self, group: str) -> builtins.list[str]:
        def job(c: sqlite3.Connection) -> builtins.list[str]:
            gid = _group_id(c, group)
            return [str(r[0]) for r in c.execute(
                "SELECT u.name FROM group_members g JOIN users u ON u.id = g.user_id"
                " WHERE g.group_id = ? ORDER BY u.name_key", (gid,))]
        return await self._db.read(job)

    async def groups_of(self, user_id: UserId) -> frozenset[str]:
        def job(c: sqlite3.Connection) -> frozenset[str]:
            return frozenset(str(r[0]) for r in c.execute(
                "SELECT g.name FROM group_members m JOIN groups g ON g.id = m.group_id"
                " WHERE m.user_id = ?", (int(user_id),)))
        return await self._db.read(job)


# --------------------------------------------------------------------------- roles

class SqliteRoles:
    def __init__(self, db: _Db) -> None:
        self._db = db

    async def get(self, user_id: UserId) -> str:
        def job(c: sqlite3.Connection) -> str:
            row = c.execute("SELECT role FROM user_roles WHERE user_id = ?",
                            (int(user_id),)).fetchone()
            return "user" if row is None else str(row[0])
        return await self._db.read(job)

    async def set(self, user_id: UserId, role: str) -> None:
        if role not in ROLES:
            raise StoreError("unknown role")

        def job(c: sqlite3.Connection) -> None:
            _require_user(c, user_id)
            if role == "user":
                c.execute("DELETE FROM user_roles WHERE user_id = ?", (int(user_id),))
            else:
                c.execute("INSERT OR REPLACE INTO user_roles (user_id, role) VALUES (?, ?)",
                          (int(user_id), role))
        await self._db.write(job)

    async def with_role(self, role: str) -> builtins.list[str]:
        def job(c: sqlite3.Connection) -> builtins.list[str]:
            if role == "user":
                rows = c.execute("SELECT name FROM users WHERE id NOT IN"
                                 " (SELECT user_id FROM user_roles) AND name_key != ?"
                                 " ORDER BY name_key", (SHARED_HOLDER,))
            else:
                rows = c.execute("SELECT u.name FROM user_roles r JOIN users u ON u.id ="
                                 " r.user_id WHERE r.role = ? ORDER BY u.name_key", (role,))
            return [str(r[0]) for r in rows]
        return await self._db.read(job)


# --------------------------------------------------------------------------- ACL entries

_SELECT_ENTRY = (
    "SELECT e.mailbox_id, e.grantee_kind, coalesce(u.name, g.name, 'anyone'), e.rights"
    " FROM acl_entries e LEFT JOIN users u ON u.id = e.user_id"
    " LEFT JOIN groups g ON g.id = e.group_id"
)


def _record(mailbox_id: Any, kind: Any, name: Any, rights: Any) -> AclRecord:
    return AclRecord(MailboxId(int(mailbox_id)), Grantee(GranteeKind(str(kind)), str(name)),
                     str(rights))


def _grantee_key(c: sqlite3.Connection, grantee: Grantee) -> tuple[int, int | None, int | None]:
    if grantee.kind is GranteeKind.USER:
        uid = _user_id_by_name(c, grantee.name)
        return uid, uid, None
    if grantee.kind is GranteeKind.GROUP:
        gid = _group_id(c, grantee.name)
        return gid, None, gid
    return 0, None, None


class SqliteAclEntries:
    def __init__(self, db: _Db, generation: _Generation) -> None:
        self._db = db
        self._generation = generation

    async def generation(self) -> int:
        return await self._generation.current()

    async def get(self, mailbox_id: MailboxId) -> builtins.list[AclRecord]:
        def job(c: sqlite3.Connection) -> builtins.list[AclRecord]:
            return [_record(*r) for r in c.execute(
                _SELECT_ENTRY + " WHERE e.mailbox_id = ?"
                " ORDER BY e.grantee_kind, coalesce(u.name_key, g.name_key, '')",
                (int(mailbox_id),))]
        return await self._db.read(job)

    async def set(self, mailbox_id: MailboxId, grantee: Grantee, rights: str) -> None:
        def job(c: sqlite3.Connection) -> None:
            if c.execute("SELECT 1 FROM mailboxes WHERE id = ?",
                         (int(mailbox_id),)).fetchone() is None:
                raise NoSuchMailbox(str(mailbox_id))
            key, user_id, group_id = _grantee_key(c, grantee)
            if not rights:
                c.execute("DELETE FROM acl_entries WHERE mailbox_id = ? AND grantee_kind = ?"
                          " AND grantee_key = ?", (int(mailbox_id), grantee.kind.value, key))
                return
            c.execute("INSERT OR REPLACE INTO acl_entries (mailbox_id, grantee_kind,"
                      " grantee_key, user_id, group_id, rights) VALUES (?, ?, ?, ?, ?, ?)",
                      (int(mailbox_id), grantee.kind.value, key, user_id, group_id, rights))
        await self._generation.write(job)

    async def delete(self, mailbox_id: MailboxId, grantee: Grantee) -> bool:
        def job(c: sqlite3.Connection) -> bool:
            try:
                key, _, _ = _grantee_key(c, grantee)
            except (NoSuchUser, NoSuchGroup):
                return False
            cur = c.execute("DELETE FROM acl_entries WHERE mailbox_id = ? AND grantee_kind = ?"
                            " AND grantee_key = ?", (int(mailbox_id), grantee.kind.value, key))
            return cur.rowcount == 1
        return await self._generation.write(job)

    async def granted_to(self, user_id: UserId, groups: frozenset[str],
                         ) -> builtins.list[tuple[MailboxInfo, AclRecord]]:
        keys = json.dumps(sorted(g.casefold() for g in groups))

        def job(c: sqlite3.Connection) -> builtins.list[tuple[MailboxInfo, AclRecord]]:
            rows = c.execute(
                "SELECT m.id, m.user_id, m.name, m.uidvalidity, m.uidnext, m.highest_modseq,"
                " m.special_use, e.grantee_kind, coalesce(u.name, g.name, 'anyone'), e.rights"
                " FROM acl_entries e JOIN mailboxes m ON m.id = e.mailbox_id"
                " LEFT JOIN users u ON u.id = e.user_id LEFT JOIN groups g ON g.id = e.group_id"
                " WHERE m.user_id != ? AND ("
                "  (e.grantee_kind = 'user' AND e.grantee_key = ?)"
                "  OR e.grantee_kind = 'anyone'"
                "  OR (e.grantee_kind = 'group' AND e.grantee_key IN"
                "      (SELECT id FROM groups WHERE name_key IN (SELECT value FROM json_each(?)))))"
                " ORDER BY m.user_id, m.name",
                (int(user_id), int(user_id), keys)).fetchall()
            return [(_mailbox(r[:7]), _record(r[0], r[7], r[8], r[9])) for r in rows]
        return await self._db.read(job)


# --------------------------------------------------------------------------- shared

class SqliteSharedMailboxes:
    def __init__(self, db: _Db, clock: Clock,
                 publish: Callable[[Iterable[MailboxId]], None]) -> None:
        self._db = db
        self._clock = clock
        self._publish = publish

    async def create(self, name: str, owner_group: str) -> SharedMailbox:
        if not name or "/" in name or name in (".", ".."):
            raise InvalidMailboxName("a shared mailbox name is one level")
        now = self._clock.now()

        def job(c: sqlite3.Connection) -> SharedMailbox:
            gid = _group_id(c, owner_group)
            holder = _ensure_holder(c, now)
            if c.execute("SELECT 1 FROM shared_mailboxes WHERE name = ?",
                         (name,)).fetchone() is not None:
                raise SharedMailboxExists(name)
            try:
                box = q.create_mailbox(c, UserId(holder), name, None, int(now))
            except MailboxExists:
                raise SharedMailboxExists(name) from None
            c.execute("INSERT INTO shared_mailboxes (name, group_id) VALUES (?, ?)", (name, gid))
            group = str(c.execute("SELECT name FROM groups WHERE id = ?", (gid,)).fetchone()[0])
            return SharedMailbox(name, group, box)
        return await self._db.write(job)

    @staticmethod
    def _get(c: sqlite3.Connection, name: str) -> SharedMailbox | None:
        row = c.execute("SELECT s.name, g.name FROM shared_mailboxes s JOIN groups g"
                        " ON g.id = s.group_id WHERE s.name = ?", (name,)).fetchone()
        holder = _holder(c)
        if row is None or holder is None:
            return None
        box = q.get_mailbox(c, UserId(holder), str(row[0]))
        return None if box is None else SharedMailbox(str(row[0]), str(row[1]), box)

    async def get(self, name: str) -> SharedMailbox | None:
        return await self._db.read(lambda c: self._get(c, name))

    async def list(self) -> builtins.list[SharedMailbox]:
        def job(c: sqlite3.Connection) -> builtins.list[SharedMailbox]:
            names = [str(r[0]) for r in c.execute("SELECT name FROM shared_mailboxes"
                                                   " ORDER BY name")]
            return [s for s in (self._get(c, n) for n in names) if s is not None]
        return await self._db.read(job)

    async def delete(self, name: str) -> None:
        def job(c: sqlite3.Connection) -> list[MailboxId]:
            holder = _holder(c)
            if holder is None or c.execute("SELECT 1 FROM shared_mailboxes WHERE name = ?",
                                           (name,)).fetchone() is None:
                raise NoSuchSharedMailbox(name)
            prefix = name + "/"
            ids = [MailboxId(int(r[0])) for r in c.execute(
                "SELECT id FROM mailboxes WHERE user_id = ? AND (name = ? OR"
                " substr(name, 1, ?) = ?)", (holder, name, len(prefix), prefix))]
            c.execute("DELETE FROM mailboxes WHERE id IN (SELECT value FROM json_each(?))",
                      (json.dumps(ids),))
            c.execute("DELETE FROM shared_mailboxes WHERE name = ?", (name,))
            return ids
        gone = await self._db.write(job)
        self._publish(gone)

    async def holder_id(self) -> UserId:
        now = self._clock.now()
        return UserId(await self._db.write(lambda c: _ensure_holder(c, now)))


# --------------------------------------------------------------------------- quotas

def _root_for(c: sqlite3.Connection, root: QuotaRoot) -> _Root:
    if root.kind is QuotaRootKind.USER:
        return _Root(_user_id_by_name(c, root.name), None)
    holder = _holder(c)
    if holder is None or c.execute("SELECT 1 FROM shared_mailboxes WHERE name = ?",
                                   (root.name,)).fetchone() is None:
        raise NoSuchSharedMailbox(root.name)
    return _Root(holder, root.name)


class SqliteQuotas:
    def __init__(self, db: _Db) -> None:
        self._db = db

    async def set_limits(self, root: QuotaRoot, storage_limit: int | None,
                         message_limit: int | None) -> None:
        for value in (storage_limit, message_limit):
            if value is not None and value < 0:
                raise StoreError("a quota limit cannot be negative")

        def job(c: sqlite3.Connection) -> None:
            r = _root_for(c, root)
            if r.shared is None:
                if storage_limit is None and message_limit is None:
                    c.execute("DELETE FROM user_quotas WHERE user_id = ?", (r.user_id,))
                else:
                    c.execute("INSERT OR REPLACE INTO user_quotas (user_id, storage_limit,"
                              " message_limit) VALUES (?, ?, ?)",
                              (r.user_id, storage_limit, message_limit))
            else:
                c.execute("UPDATE shared_mailboxes SET storage_limit = ?, message_limit = ?"
                          " WHERE name = ?", (storage_limit, message_limit, r.shared))
        await self._db.write(job)

    async def get(self, root: QuotaRoot) -> QuotaState:
        def job(c: sqlite3.Connection) -> QuotaState:
            r = _root_for(c, root)
            storage_limit, message_limit = _limits(c, r)
            storage, messages = _usage(c, r)
            return QuotaState(root, storage_limit, message_limit, storage, messages)
        return await self._db.read(job)

    async def root_of(self, mailbox_id: MailboxId) -> QuotaRoot:
        def job(c: sqlite3.Connection) -> QuotaRoot:
            r = _root_of(c, mailbox_id)
            if r.shared is not None:
                return QuotaRoot(QuotaRootKind.SHARED, r.shared)
            name = c.execute("SELECT name FROM users WHERE id = ?", (r.user_id,)).fetchone()
            return QuotaRoot(QuotaRootKind.USER, str(name[0]))
        return await self._db.read(job)


# --------------------------------------------------------------------------- the facade

class SqliteAclStore:
    """Implements ``store.acl.AclStore`` on the mail store's database."""

    def __init__(self, db: _Db, clock: Clock,
                 publish: Callable[[Iterable[MailboxId]], None]) -> None:
        generation = _Generation(db, clock)
        self._groups = SqliteGroups(db, clock, generation)
        self._roles = SqliteRoles(db)
        self._acl = SqliteAclEntries(db, generation)
        self._shared = SqliteSharedMailboxes(db, clock, publish)
        self._quotas = SqliteQuotas(db)

    @property
    def groups(self) -> SqliteGroups:
        return self._groups

    @property
    def roles(self) -> SqliteRoles:
        return self._roles

    @property
    def acl(self) -> SqliteAclEntries:
        return self._acl

    @property
    def shared(self) -> SqliteSharedMailboxes:
        return self._shared

    @property
    def quotas(self) -> SqliteQuotas:
        return self._quotas
