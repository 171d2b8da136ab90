"""SQL of the embedded store and the synchronous operations that run it.

Every function here takes the ``sqlite3.Connection`` of the store's single database thread and is
called by ``store.py`` inside a transaction it opened (``BEGIN IMMEDIATE`` for writes). Nothing
here awaits, logs or touches blob files.
"""

from __future__ import annotations

import collections
import datetime as dt
import functools
import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, overload

from mailfort.mail.flags import ANSWERED, DELETED, DRAFT, FLAGGED, RECENT, SEEN, canonical_flag
from mailfort.mail.message import ParsedMessage
from mailfort.mail.search import (
    All,
    And,
    Body,
    DateCompare,
    DateField,
    DateOp,
    HasFlag,
    Header,
    InSet,
    ModSeqAtLeast,
    New,
    Not,
    Old,
    Or,
    Recent,
    SearchKey,
    SizeCompare,
    SizeOp,
    Text,
)
from mailfort.store.errors import (
    InboxCannotBeDeleted,
    InvalidMailboxName,
    MailboxExists,
    NoSuchMailbox,
    NoSuchUser,
    StoreError,
    UserExists,
)
from mailfort.store.types import (
    AppendResult,
    BlobId,
    Change,
    ChangeKind,
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

__all__ = ["encode_flags", "decode_flags", "apply_flags", "EncodedFlags", "CHANGELOG_EXPUNGED_KEEP",
           "UIDVALIDITY_MAX"]

# --------------------------------------------------------------------------- flags

_BITS: Final = {ANSWERED: 1, FLAGGED: 2, DELETED: 4, SEEN: 8, DRAFT: 16}
_DELETED_BIT: Final = _BITS[DELETED]
assert _DELETED_BIT == 4  # spelled out in SQL below
_SEEN_BIT: Final = _BITS[SEEN]


@dataclass(frozen=True, slots=True)
class EncodedFlags:
    """Flags as stored: system flags as a bitmask, keywords space-separated, ordered by their
    lower-case form (so equal sets encode equally)."""

    bits: int
    keywords: str


def encode_flags(flags: Iterable[str]) -> EncodedFlags:
    """Canonicalise system flags, drop ``\\Recent`` (never stored), de-duplicate keywords
    case-insensitively keeping the first spelling."""
    bits = 0
    keywords: dict[str, str] = {}
    for flag in flags:
        flag = canonical_flag(flag)
        if flag == RECENT or not flag:
            continue
        bit = _BITS.get(flag)
        if bit is not None:
            bits |= bit
            continue
        if any(ch.isspace() for ch in flag):
            raise ValueError("a keyword cannot contain whitespace")
        keywords.setdefault(flag.lower(), flag)
    return EncodedFlags(bits, _join_keywords(keywords))


def _join_keywords(keywords: dict[str, str]) -> str:
    return " ".join(keywords[k] for k in sorted(keywords))


def _split_keywords(text: str) -> dict[str, str]:
    return {k.lower(): k for k in text.split(" ")} if text else {}


@functools.lru_cache(maxsize=4096)
def decode_flags(bits: int, keywords: str) -> frozenset[str]:
    """The flag set of a stored row. Cached: a mailbox has few distinct flag combinations."""
    flags = [flag for flag, bit in _BITS.items() if bits & bit]
    if keywords:
        flags.extend(keywords.split(" "))
    return frozenset(flags)


def apply_flags(mode: FlagMode, current: EncodedFlags, change: EncodedFlags) -> EncodedFlags:
    """The flags after a STORE. Keywords compare case-insensitively; a keyword already present
    keeps its stored spelling, so a case-only difference is not a change."""
    if mode is FlagMode.ADD:
        merged = _split_keywords(current.keywords)
        for key, kw in _split_keywords(change.keywords).items():
            merged.setdefault(key, kw)
        return EncodedFlags(current.bits | change.bits, _join_keywords(merged))
    if mode is FlagMode.REMOVE:
        drop = _split_keywords(change.keywords)
        kept = {k: v for k, v in _split_keywords(current.keywords).items() if k not in drop}
        return EncodedFlags(current.bits & ~change.bits, _join_keywords(kept))
    existing = _split_keywords(current.keywords)
    replaced = {k: existing.get(k, v) for k, v in _split_keywords(change.keywords).items()}
    return EncodedFlags(change.bits, _join_keywords(replaced))


# --------------------------------------------------------------------------- constants

UIDVALIDITY_MAX: Final = 2**32 - 1  # nz-number is 32-bit unsigned
# EXPUNGED entries kept per mailbox; older ones are pruned and the mailbox's changelog_floor
# records the newest pruned modseq. ADDED/FLAGS entries are bounded by the live messages: an
# expunge drops the uid's earlier entries and a flag change replaces the uid's previous one.
CHANGELOG_EXPUNGED_KEEP: Final = 10_000
_IN_CHUNK: Final = 5_000  # uids per json_each() IN-list

_SELECT_MAILBOX: Final = (
    "SELECT id, user_id, name, uidvalidity, uidnext, highest_modseq, special_use FROM mailboxes"
)
_SELECT_USER: Final = "SELECT id, name, password_hash, created_at, is_disabled FROM users"

SQL_PRAGMAS: Final = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = FULL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA busy_timeout = 5000",
    "PRAGMA temp_store = MEMORY",
    "PRAGMA cache_size = -32768",  # KiB: 32 MiB page cache
)

_INSERT_MESSAGE: Final = (
    "INSERT INTO messages (mailbox_id, uid, modseq, sysflags, keywords, internal_date, size,"
    " blob_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_CHANGE: Final = (
    "INSERT INTO changelog (mailbox_id, modseq, kind, uid, sysflags, keywords)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
_INSERT_CONTENT: Final = (
    "INSERT OR IGNORE INTO contents (blob_id, envelope, body, bodystructure, mime, sent_date,"
    " header_index, body_text) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_SET_MAILBOX_COUNTERS: Final = "UPDATE mailboxes SET uidnext = ?, highest_modseq = ? WHERE id = ?"
_DROP_FLAG_CHANGES: Final = (
    "DELETE FROM changelog INDEXED BY changelog_uid"
    " WHERE mailbox_id = ? AND uid = ? AND kind = 'flags'"
)
_DROP_UID_CHANGES: Final = (
    "DELETE FROM changelog INDEXED BY changelog_uid"
    " WHERE mailbox_id = ? AND uid = ? AND kind IN ('added', 'flags')"
)
_DELETE_MESSAGE: Final = "DELETE FROM messages WHERE mailbox_id = ? AND uid = ?"
_SELECT_META: Final = (
    "SELECT m.uid, m.modseq, m.sysflags, m.keywords, m.internal_date, m.size, m.blob_id,"
    " c.envelope, c.body, c.bodystructure, c.mime"
    " FROM messages m JOIN contents c ON c.blob_id = m.blob_id"
)
_SELECT_MESSAGE_META: Final = (
    "SELECT m.uid, m.modseq, m.sysflags, m.keywords, m.internal_date, m.size, m.blob_id"
    " FROM messages m"
)
_SELECT_CONTENT_ITEMS: Final = (
    "SELECT blob_id, envelope, body, bodystructure, mime FROM contents"
    " WHERE blob_id IN (SELECT value FROM json_each(?))"
)
_SELECT_SEARCH: Final = (
    "SELECT m.uid, c.sent_date, c.header_index, c.body_text"
    " FROM messages m JOIN contents c ON c.blob_id = m.blob_id"
)
_SELECT_FLAGS: Final = "SELECT m.uid, m.modseq, m.sysflags, m.keywords FROM messages m"
_SELECT_UID: Final = "SELECT m.uid FROM messages m"
_AND_UID_IN_JSON: Final = " AND m.uid IN (SELECT value FROM json_each(?)) ORDER BY m.uid"
_SELECT_COPY: Final = (
    "SELECT m.uid, m.sysflags, m.keywords, m.internal_date, m.size, m.blob_id FROM messages m"
)


# --------------------------------------------------------------------------- row mapping

def _aware(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def _user(row: sqlite3.Row | tuple[object, ...]) -> User:
    uid, name, password_hash, created_at, is_disabled = row
    return User(UserId(int(str(uid))), str(name), str(password_hash), _aware(str(created_at)),
                bool(is_disabled))


def _mailbox(row: tuple[object, ...]) -> MailboxInfo:
    mid, user_id, name, uidvalidity, uidnext, hms, special_use = row
    return MailboxInfo(MailboxId(_int(mid)), UserId(_int(user_id)), str(name), _int(uidvalidity),
                       _int(uidnext), _int(hms), None if special_use is None else str(special_use))


def _int(value: object) -> int:
    assert isinstance(value, int)
    return value


def _text(value: object) -> str:
    assert isinstance(value, str)
    return value


def _bytes(value: object) -> bytes:
    assert isinstance(value, bytes)
    return value


# --------------------------------------------------------------------------- migrations

def schema_version(conn: sqlite3.Connection) -> int:
    return _int(conn.execute("PRAGMA user_version").fetchone()[0])


def apply_migration(conn: sqlite3.Connection, version: int, script: str) -> None:
    """Run one migration script and record its version, in the caller's transaction. The
    script is split on ';' at line ends (our migration files hold no triggers)."""
    for statement in script.split(";\n"):
        if statement.strip() and not all(
            line.strip().startswith("--") or not line.strip() for line in statement.splitlines()
        ):
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {int(version)}")


# --------------------------------------------------------------------------- users

def _allocate_uidvalidity(conn: sqlite3.Connection, now_s: int) -> int:
    row = conn.execute("SELECT value FROM counters WHERE name = 'uidvalidity'").fetchone()
    last = 0 if row is None else _int(row[0])
    value = max(last + 1, now_s)
    if value > UIDVALIDITY_MAX:
        raise StoreError("UIDVALIDITY space exhausted")
    conn.execute(
        "INSERT INTO counters (name, value) VALUES ('uidvalidity', ?)"
        " ON CONFLICT (name) DO UPDATE SET value = excluded.value", (value,))
    return value


def create_user(conn: sqlite3.Connection, name: str, password_hash: str, now: dt.datetime,
                mailboxes: Sequence[tuple[str, str | None]]) -> User:
    try:
        cur = conn.execute(
            "INSERT INTO users (name, name_key, password_hash, created_at) VALUES (?, ?, ?, ?)",
            (name, name.casefold(), password_hash, now.isoformat()))
    except sqlite3.IntegrityError:
        raise UserExists(name) from None
    user_id = UserId(_int(cur.lastrowid))
    for mailbox_name, special_use in mailboxes:
        create_mailbox(conn, user_id, mailbox_name, special_use, int(now.timestamp()))
    return User(user_id, name, password_hash, now)


def get_user(conn: sqlite3.Connection, name: str) -> User | None:
    row = conn.execute(_SELECT_USER + " WHERE name_key = ?",
                       (name.casefold(),)).fetchone()
    return None if row is None else _user(row)


def get_user_by_id(conn: sqlite3.Connection, user_id: UserId) -> User | None:
    row = conn.execute(_SELECT_USER + " WHERE id = ?", (user_id,)).fetchone()
    return None if row is None else _user(row)


def list_users(conn: sqlite3.Connection) -> list[User]:
    return [_user(r) for r in conn.execute(_SELECT_USER + " ORDER BY id")]


def set_password_hash(conn: sqlite3.Connection, user_id: UserId, password_hash: str) -> None:
    cur = conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))
    if cur.rowcount == 0:
        raise NoSuchUser(str(user_id))


def delete_user(conn: sqlite3.Connection, name: str) -> list[MailboxId]:
    """Delete the account (cascading to its mailboxes, messages and change log); returns the
    ids of the mailboxes that went with it."""
    row = conn.execute("SELECT id FROM users WHERE name_key = ?", (name.casefold(),)).fetchone()
    if row is None:
        raise NoSuchUser(name)
    user_id = _int(row[0])
    ids = [MailboxId(_int(r[0]))
           for r in conn.execute("SELECT id FROM mailboxes WHERE user_id = ?", (user_id,))]
    conn.execute("DELETE FROM users WHERE id = ?", (user_id,))
    return ids


# --------------------------------------------------------------------------- mailboxes

def _require_user(conn: sqlite3.Connection, user_id: UserId) -> None:
    if conn.execute("SELECT 1 FROM users WHERE id = ?", (user_id,)).fetchone() is None:
        raise NoSuchUser(str(user_id))


def create_mailbox(conn: sqlite3.Connection, user_id: UserId, name: str,
                   special_use: str | None, now_s: int) -> MailboxInfo:
    _require_user(conn, user_id)
    uidvalidity = _allocate_uidvalidity(conn, now_s)
    try:
        cur = conn.execute(
            "INSERT INTO mailboxes (user_id, name, uidvalidity, special_use) VALUES (?, ?, ?, ?)",
            (user_id, name, uidvalidity, special_use))
    except sqlite3.IntegrityError:
        raise MailboxExists(name) from None
    return MailboxInfo(MailboxId(_int(cur.lastrowid)), user_id, name, uidvalidity, 1, 1,
                       special_use)


def get_mailbox(conn: sqlite3.Connection, user_id: UserId, name: str) -> MailboxInfo | None:
    row = conn.execute(_SELECT_MAILBOX + " WHERE user_id = ? AND name = ?",
                       (user_id, name)).fetchone()
    return None if row is None else _mailbox(row)


def get_mailbox_by_id(conn: sqlite3.Connection, mailbox_id: MailboxId) -> MailboxInfo:
    row = conn.execute(_SELECT_MAILBOX + " WHERE id = ?",
                       (mailbox_id,)).fetchone()
    if row is None:
        raise NoSuchMailbox(str(mailbox_id))
    return _mailbox(row)


def list_mailboxes(conn: sqlite3.Connection, user_id: UserId) -> list[MailboxInfo]:
    return [_mailbox(r) for r in conn.execute(
        _SELECT_MAILBOX + " WHERE user_id = ? ORDER BY name", (user_id,))]


def delete_mailbox(conn: sqlite3.Connection, user_id: UserId, name: str) -> MailboxId:
    if name == "INBOX":
        raise InboxCannotBeDeleted(name)
    box = get_mailbox(conn, user_id, name)
    if box is None:
        raise NoSuchMailbox(name)
    conn.execute("DELETE FROM mailboxes WHERE id = ?", (box.id,))
    return box.id


def rename_mailbox(conn: sqlite3.Connection, user_id: UserId, old: str, new: str) -> None:
    if old == "INBOX" or new == "INBOX":
        raise InvalidMailboxName(old)
    if new.startswith(old + "/"):
        raise InvalidMailboxName(new)
    prefix = old + "/"
    rows = conn.execute(
        "SELECT id, name FROM mailboxes WHERE user_id = ? AND"
        " (name = ? OR substr(name, 1, ?) = ?)",
        (user_id, old, len(prefix), prefix)).fetchall()
    moves = [(_int(r[0]), new + _text(r[1])[len(old):]) for r in rows]
    if not any(_text(r[1]) == old for r in rows):
        raise NoSuchMailbox(old)
    for _, target in moves:
        if get_mailbox(conn, user_id, target) is not None:
            raise MailboxExists(target)
    conn.executemany("UPDATE mailboxes SET name = ? WHERE id = ?",
                     [(target, mid) for mid, target in moves])


def set_subscribed(conn: sqlite3.Connection, user_id: UserId, name: str,
                   is_subscribed: bool) -> None:
    _require_user(conn, user_id)
    if is_subscribed:
        conn.execute("INSERT OR IGNORE INTO subscriptions (user_id, name) VALUES (?, ?)",
                     (user_id, name))
    else:
        conn.execute("DELETE FROM subscriptions WHERE user_id = ? AND name = ?", (user_id, name))


def subscriptions(conn: sqlite3.Connection, user_id: UserId) -> set[str]:
    return {_text(r[0]) for r in conn.execute(
        "SELECT name FROM subscriptions WHERE user_id = ?", (user_id,))}


def mailbox_status(conn: sqlite3.Connection, mailbox_id: MailboxId) -> MailboxStatus:
    row = conn.execute("SELECT uidvalidity, uidnext, highest_modseq, recent_mark FROM mailboxes"
                       " WHERE id = ?", (mailbox_id,)).fetchone()
    if row is None:
        raise NoSuchMailbox(str(mailbox_id))
    uidvalidity, uidnext, hms, recent_mark = (_int(v) for v in row)
    count, unseen, deleted, size, recent = conn.execute(
        "SELECT count(*), total((sysflags & ?) = 0), total((sysflags & ?) != 0), total(size),"
        " total(uid >= ?) FROM messages WHERE mailbox_id = ?",
        (_SEEN_BIT, _DELETED_BIT, recent_mark, mailbox_id)).fetchone()
    return MailboxStatus(messages=int(count), uidnext=uidnext, uidvalidity=uidvalidity,
                         unseen=int(unseen), deleted=int(deleted), size=int(size),
                         highest_modseq=hms, recent=int(recent))


# --------------------------------------------------------------------------- messages

@dataclass(slots=True)
class _Counters:
    uidvalidity: int
    uidnext: int
    highest_modseq: int


def _counters(conn: sqlite3.Connection, mailbox_id: MailboxId) -> _Counters:
    row = conn.execute("SELECT uidvalidity, uidnext, highest_modseq FROM mailboxes WHERE id = ?",
                       (mailbox_id,)).fetchone()
    if row is None:
        raise NoSuchMailbox(str(mailbox_id))
    return _Counters(_int(row[0]), _int(row[1]), _int(row[2]))


def _save_counters(conn: sqlite3.Connection, mailbox_id: MailboxId, c: _Counters) -> None:
    conn.execute(_SET_MAILBOX_COUNTERS, (c.uidnext, c.highest_modseq, mailbox_id))


def insert_content(conn: sqlite3.Connection, blob_id: BlobId, parsed: ParsedMessage) -> None:
    cur = conn.execute(_INSERT_CONTENT, (
        blob_id, parsed.envelope, parsed.body, parsed.bodystructure, parsed.root.dumps(),
        None if parsed.sent_date is None else parsed.sent_date.isoformat(),
        json.dumps([list(p) for p in parsed.header_index], ensure_ascii=False), parsed.body_text))
    if cur.rowcount:
        index_content(conn, blob_id, parsed.header_index, parsed.body_text)


def append_message(conn: sqlite3.Connection, mailbox_id: MailboxId, blob_id: BlobId,
                   parsed: ParsedMessage, flags: EncodedFlags,
                   internal_date: dt.datetime) -> AppendResult:
    c = _counters(conn, mailbox_id)
    insert_content(conn, blob_id, parsed)
    uid = c.uidnext
    modseq = c.highest_modseq + 1
    conn.execute(_INSERT_MESSAGE, (mailbox_id, uid, modseq, flags.bits, flags.keywords,
                                   internal_date.isoformat(), parsed.size, blob_id))
    conn.execute(_INSERT_CHANGE, (mailbox_id, modseq, ChangeKind.ADDED.value, uid, flags.bits,
                                  flags.keywords))
    conn.execute(_SET_MAILBOX_COUNTERS, (uid + 1, modseq, mailbox_id))
    return AppendResult(uid, c.uidvalidity, modseq)


def _uid_rows(conn: sqlite3.Connection, select: str, mailbox_id: MailboxId,
              uids: Sequence[int], extra_where: str = "") -> list[tuple[object, ...]]:
    """Rows of ``select`` (over ``messages m``, first column ``m.uid``) for these uids,
    ascending by uid, in as few queries as possible: one range scan when the uids are dense,
    else IN-lists bound as one JSON parameter (no SQL built from values)."""
    wanted = sorted({u for u in uids if u > 0})
    if not wanted:
        return []
    lo, hi = wanted[0], wanted[-1]
    base = select + " WHERE m.mailbox_id = ?" + extra_where
    if len(wanted) * 2 >= hi - lo + 1:
        rows = conn.execute(base + " AND m.uid BETWEEN ? AND ? ORDER BY m.uid",
                            (mailbox_id, lo, hi)).fetchall()
        if len(wanted) == hi - lo + 1:
            return rows
        keep = set(wanted)
        return [r for r in rows if r[0] in keep]
    out: list[tuple[object, ...]] = []
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start:start + _IN_CHUNK]
        out.extend(conn.execute(
            base + _AND_UID_IN_JSON,
            (mailbox_id, json.dumps(chunk))).fetchall())
    return out


def snapshot(conn: sqlite3.Connection, mailbox_id: MailboxId) -> Snapshot:
    box = get_mailbox_by_id(conn, mailbox_id)
    uids: list[int] = []
    flags: list[frozenset[str]] = []
    modseqs: list[int] = []
    for uid, modseq, bits, keywords in conn.execute(
            "SELECT uid, modseq, sysflags, keywords FROM messages WHERE mailbox_id = ?"
            " ORDER BY uid", (mailbox_id,)):
        uids.append(uid)
        modseqs.append(modseq)
        flags.append(decode_flags(bits, keywords))
    return Snapshot(box, uids, flags, modseqs)


def claim_recent(conn: sqlite3.Connection, mailbox_id: MailboxId,
                 up_to_uid: int | None = None) -> tuple[int, int]:
    """Take the \\Recent messages up to ``up_to_uid`` (None: all): move the mailbox's mark
    past them. Returns (the old mark: the first UID recent for the caller, the new mark)."""
    row = conn.execute("SELECT recent_mark, uidnext FROM mailboxes WHERE id = ?",
                       (mailbox_id,)).fetchone()
    if row is None:
        raise NoSuchMailbox(str(mailbox_id))
    mark, uidnext = _int(row[0]), _int(row[1])
    new = uidnext if up_to_uid is None else min(uidnext, up_to_uid + 1)
    if new > mark:
        conn.execute("UPDATE mailboxes SET recent_mark = ? WHERE id = ?", (new, mailbox_id))
    return mark, max(mark, new)


def raise_recent_mark(conn: sqlite3.Connection, mailbox_id: MailboxId, mark: int) -> None:
    conn.execute("UPDATE mailboxes SET recent_mark = max(recent_mark, ?) WHERE id = ?",
                 (mark, mailbox_id))


def highest_modseq(conn: sqlite3.Connection, mailbox_id: MailboxId) -> int:
    row = conn.execute("SELECT highest_modseq FROM mailboxes WHERE id = ?",
                       (mailbox_id,)).fetchone()
    if row is None:
        raise NoSuchMailbox(str(mailbox_id))
    return _int(row[0])


@overload
def changes_since(conn: sqlite3.Connection, mailbox_id: MailboxId, modseq: int) -> list[Change]:
    ...


@overload
def changes_since(conn: sqlite3.Connection, mailbox_id: MailboxId, modseq: int, *,
                  limit: int) -> list[Change] | None:
    ...


def changes_since(conn: sqlite3.Connection, mailbox_id: MailboxId, modseq: int, *,
                  limit: int | None = None) -> list[Change] | None:
    """The change log after ``modseq``, oldest first; None when ``limit`` is given and there
    are more changes than that."""
    get_mailbox_by_id(conn, mailbox_id)
    rows = conn.execute(
        "SELECT modseq, kind, uid, sysflags, keywords FROM changelog"
        " WHERE mailbox_id = ? AND modseq > ? ORDER BY modseq LIMIT ?",
        (mailbox_id, modseq, -1 if limit is None else limit + 1)).fetchall()
    if limit is not None and len(rows) > limit:
        return None
    return [Change(m, ChangeKind(kind), uid, decode_flags(bits, keywords))
            for m, kind, uid, bits, keywords in rows]


# FETCH's precomputed items of one message content: (envelope, body, bodystructure, mime).
ContentItems = tuple[bytes, bytes, bytes, str]


class ContentCache:
    """``contents`` rows FETCH needs, by blob id, most recently used last, bounded by bytes.
    Contents are immutable (content-addressed), so entries never go stale. Shared by the
    reader threads (hence the lock)."""

    def __init__(self, max_bytes: int) -> None:
        self._max = max_bytes
        self._bytes = 0
        self._items: collections.OrderedDict[str, ContentItems] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get_many(self, blob_ids: Iterable[str]) -> dict[str, ContentItems]:
        found: dict[str, ContentItems] = {}
        with self._lock:
            items = self._items
            for blob_id in blob_ids:
                item = items.get(blob_id)
                if item is not None:
                    items.move_to_end(blob_id)
                    found[blob_id] = item
        return found

    def put_many(self, entries: dict[str, ContentItems]) -> None:
        with self._lock:
            for blob_id, item in entries.items():
                if blob_id in self._items:
                    continue
                self._items[blob_id] = item
                self._bytes += _content_size(item)
            while self._bytes > self._max and self._items:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= _content_size(dropped)


def _content_size(item: ContentItems) -> int:
    return len(item[0]) + len(item[1]) + len(item[2]) + len(item[3]) + 200  # + overhead


def fetch_meta(conn: sqlite3.Connection, mailbox_id: MailboxId, uids: Sequence[int],
               cache: ContentCache | None = None) -> list[MessageMeta]:
    """What FETCH needs of these messages. With ``cache``, the precomputed items come from
    it where it has them (a narrow read of ``messages`` alone), the rest from ``contents``."""
    if cache is None:
        rows = _uid_rows(conn, _SELECT_META, mailbox_id, uids)
        return [MessageMeta(uid=_int(r[0]), modseq=_int(r[1]),
                            flags=decode_flags(_int(r[2]), _text(r[3])),
                            internal_date=_aware(_text(r[4])), size=_int(r[5]),
                            blob_id=BlobId(_text(r[6])), envelope=_bytes(r[7]),
                            body=_bytes(r[8]), bodystructure=_bytes(r[9]), mime=_text(r[10]))
                for r in rows]
    rows = _uid_rows(conn, _SELECT_MESSAGE_META, mailbox_id, uids)
    blob_ids = {_text(r[6]) for r in rows}
    known = cache.get_many(blob_ids)
    missing = [b for b in blob_ids if b not in known]
    if missing:
        fresh: dict[str, ContentItems] = {}
        for start in range(0, len(missing), _IN_CHUNK):
            for blob_id, envelope, body, bodystructure, mime in conn.execute(
                    _SELECT_CONTENT_ITEMS, (json.dumps(missing[start:start + _IN_CHUNK]),)):
                fresh[_text(blob_id)] = (_bytes(envelope), _bytes(body), _bytes(bodystructure),
                                         _text(mime))
        cache.put_many(fresh)
        known.update(fresh)
    out: list[MessageMeta] = []
    for uid, modseq, bits, keywords, internal_date, size, blob_id in rows:
        blob_text = _text(blob_id)
        item = known.get(blob_text)
        if item is None:  # its contents row is gone (a sweep raced us): as if expunged
            continue
        out.append(MessageMeta(uid=_int(uid), modseq=_int(modseq),
                               flags=decode_flags(_int(bits), _text(keywords)),
                               internal_date=_aware(_text(internal_date)), size=_int(size),
                               blob_id=BlobId(blob_text), envelope=item[0], body=item[1],
                               bodystructure=item[2], mime=item[3]))
    return out


def search_data(conn: sqlite3.Connection, mailbox_id: MailboxId,
                uids: Sequence[int]) -> list[SearchData]:
    rows = _uid_rows(conn, _SELECT_SEARCH, mailbox_id, uids)
    out: list[SearchData] = []
    for uid, sent, index, body_text in rows:
        pairs = json.loads(_text(index))
        out.append(SearchData(
            uid=_int(uid), sent_date=None if sent is None else dt.date.fromisoformat(_text(sent)),
            header_index=tuple((str(n), str(v)) for n, v in pairs), body_text=_text(body_text)))
    return out


def store_flags(conn: sqlite3.Connection, mailbox_id: MailboxId, uids: Sequence[int],
                mode: FlagMode, change: EncodedFlags, unchanged_since: int | None,
                ) -> tuple[list[FlagUpdate], list[int]]:
    c = _counters(conn, mailbox_id)
    rows = _uid_rows(conn, _SELECT_FLAGS, mailbox_id, uids)
    updates: list[FlagUpdate] = []
    refused: list[int] = []
    writes: list[tuple[int, str, int, MailboxId, int]] = []
    for uid, modseq, bits, keywords in rows:
        uid = _int(uid)
        if unchanged_since is not None and _int(modseq) > unchanged_since:
            refused.append(uid)
            continue
        current = EncodedFlags(_int(bits), _text(keywords))
        after = apply_flags(mode, current, change)
        if after == current:
            continue
        c.highest_modseq += 1
        writes.append((after.bits, after.keywords, c.highest_modseq, mailbox_id, uid))
        updates.append(FlagUpdate(uid, decode_flags(after.bits, after.keywords),
                                  c.highest_modseq))
    if writes:
        conn.executemany("UPDATE messages SET sysflags = ?, keywords = ?, modseq = ?"
                         " WHERE mailbox_id = ? AND uid = ?", writes)
        conn.executemany(_DROP_FLAG_CHANGES, [(mailbox_id, w[4]) for w in writes])
        conn.executemany(_INSERT_CHANGE, [(mailbox_id, w[2], ChangeKind.FLAGS.value, w[4], w[0],
                                           w[1]) for w in writes])
        _save_counters(conn, mailbox_id, c)
    return updates, refused


def _record_expunged(conn: sqlite3.Connection, mailbox_id: MailboxId, c: _Counters,
                     uids: list[int], keep_expunged: int = CHANGELOG_EXPUNGED_KEEP) -> None:
    """Delete these messages and log them EXPUNGED, each with its own new modseq."""
    conn.executemany(_DELETE_MESSAGE, [(mailbox_id, u) for u in uids])
    conn.executemany(_DROP_UID_CHANGES, [(mailbox_id, u) for u in uids])
    entries = []
    for uid in uids:
        c.highest_modseq += 1
        entries.append((mailbox_id, c.highest_modseq, ChangeKind.EXPUNGED.value, uid, 0, ""))
    conn.executemany(_INSERT_CHANGE, entries)
    _save_counters(conn, mailbox_id, c)
    _prune_changelog(conn, mailbox_id, keep_expunged)


def _prune_changelog(conn: sqlite3.Connection, mailbox_id: MailboxId, keep: int) -> None:
    row = conn.execute(
        "SELECT modseq FROM changelog WHERE mailbox_id = ? AND kind = 'expunged'"
        " ORDER BY modseq DESC LIMIT 1 OFFSET ?", (mailbox_id, keep)).fetchone()
    if row is None:
        return
    cutoff = _int(row[0])
    conn.execute("DELETE FROM changelog WHERE mailbox_id = ? AND kind = 'expunged'"
                 " AND modseq <= ?", (mailbox_id, cutoff))
    conn.execute("UPDATE mailboxes SET changelog_floor = max(changelog_floor, ?) WHERE id = ?",
                 (cutoff, mailbox_id))


def expunge(conn: sqlite3.Connection, mailbox_id: MailboxId, uids: Sequence[int] | None,
            keep_expunged: int = CHANGELOG_EXPUNGED_KEEP) -> list[int]:
    c = _counters(conn, mailbox_id)
    if uids is None:
        doomed = [_int(r[0]) for r in conn.execute(
            "SELECT uid FROM messages WHERE mailbox_id = ? AND (sysflags & ?) != 0 ORDER BY uid",
            (mailbox_id, _DELETED_BIT))]
    else:
        doomed = [_int(r[0]) for r in _uid_rows(conn, _SELECT_UID, mailbox_id, uids,
                                                " AND (m.sysflags & 4) != 0")]
    if doomed:
        _record_expunged(conn, mailbox_id, c, doomed, keep_expunged)
    return doomed


def copy_messages(conn: sqlite3.Connection, src: MailboxId, uids: Sequence[int], dst: MailboxId,
                  is_move: bool) -> tuple[int, list[tuple[int, int]]]:
    _counters(conn, src)
    d = _counters(conn, dst)
    rows = _uid_rows(conn, _SELECT_COPY, src, uids)
    mapping: list[tuple[int, int]] = []
    inserts = []
    changes = []
    for uid, bits, keywords, internal_date, size, blob_id in rows:
        new_uid = d.uidnext
        d.uidnext += 1
        d.highest_modseq += 1
        mapping.append((_int(uid), new_uid))
        inserts.append((dst, new_uid, d.highest_modseq, bits, keywords, internal_date, size,
                        blob_id))
        changes.append((dst, d.highest_modseq, ChangeKind.ADDED.value, new_uid, bits, keywords))
    if not mapping:
        return d.uidvalidity, mapping
    conn.executemany(_INSERT_MESSAGE, inserts)
    conn.executemany(_INSERT_CHANGE, changes)
    _save_counters(conn, dst, d)
    if is_move:
        s = _counters(conn, src)  # re-read: src may be dst
        _record_expunged(conn, src, s, [old for old, _ in mapping])
    return d.uidvalidity, mapping


# --------------------------------------------------------------------------- garbage

def delete_unreferenced_contents(conn: sqlite3.Connection) -> int:
    cur = conn.execute(
        "DELETE FROM contents WHERE NOT EXISTS"
        " (SELECT 1 FROM messages m WHERE m.blob_id = contents.blob_id)")
    return cur.rowcount


def referenced_blobs(conn: sqlite3.Connection) -> set[str]:
    return {_text(r[0]) for r in conn.execute("SELECT blob_id FROM contents")}


# --------------------------------------------------------------------------- SEARCH index

def search_header_text(header_index: Iterable[tuple[str, str]]) -> str:
    """The header text SEARCH TEXT looks in: ``name: value`` lines joined by CRLF (the same
    text the service's SEARCH evaluator builds from ``SearchData.header_index``)."""
    return "\r\n".join(f"{n}: {v}" for n, v in header_index)


def index_content(conn: sqlite3.Connection, blob_id: BlobId,
                  header_index: Iterable[tuple[str, str]], body_text: str) -> None:
    """Add one content's case-folded header and body text to the trigram index."""
    cur = conn.execute("INSERT OR IGNORE INTO search_docs (blob_id) VALUES (?)", (blob_id,))
    if not cur.rowcount:
        return
    conn.execute("INSERT INTO search_text (rowid, headers, body) VALUES (?, ?, ?)",
                 (cur.lastrowid, search_header_text(header_index).casefold(),
                  body_text.casefold()))


def backfill_search_index(conn: sqlite3.Connection) -> int:
    """Index every content not yet indexed (migration 0004). Returns how many."""
    rows = conn.execute(
        "SELECT c.blob_id, c.header_index, c.body_text FROM contents c"
        " WHERE NOT EXISTS (SELECT 1 FROM search_docs d WHERE d.blob_id = c.blob_id)").fetchall()
    for blob_id, index, body_text in rows:
        pairs = [(str(n), str(v)) for n, v in json.loads(_text(index))]
        index_content(conn, BlobId(_text(blob_id)), pairs, _text(body_text))
    return len(rows)


def delete_unindexed_docs(conn: sqlite3.Connection) -> None:
    """Drop index documents (and inline blobs) whose content the sweep removed."""
    conn.execute(
        "DELETE FROM search_text WHERE rowid IN (SELECT d.doc FROM search_docs d WHERE NOT EXISTS"
        " (SELECT 1 FROM contents c WHERE c.blob_id = d.blob_id))")
    conn.execute("DELETE FROM search_docs WHERE NOT EXISTS"
                 " (SELECT 1 FROM contents c WHERE c.blob_id = search_docs.blob_id)")
    conn.execute("DELETE FROM inline_blobs WHERE NOT EXISTS"
                 " (SELECT 1 FROM contents c WHERE c.blob_id = inline_blobs.blob_id)")


_MIN_TRIGRAM_CHARS: Final = 3
_MAX_OR_RANGES: Final = 64
_FTS_DOCS: Final = (
    "m.blob_id IN (SELECT d.blob_id FROM search_text JOIN search_docs d"
    " ON d.doc = search_text.rowid WHERE search_text MATCH ?)"
)
_SENT_DAY: Final = (
    "coalesce((SELECT c.sent_date FROM contents c WHERE c.blob_id = m.blob_id),"
    " substr(m.internal_date, 1, 10))"
)
_DATE_OPS: Final = {DateOp.BEFORE: "<", DateOp.ON: "=", DateOp.SINCE: ">="}


@dataclass(frozen=True, slots=True)
class _Sql:
    """A boolean SQL expression over ``messages m``: a superset of the key's matches, or
    exactly them when ``is_exact``."""

    text: str
    params: tuple[object, ...]
    is_exact: bool


_ANY: Final = _Sql("1", (), False)


def _fts_phrase(column: str | None, needle: str) -> str:
    phrase = '"' + needle.replace('"', '""') + '"'
    return phrase if column is None else f"{column} : {phrase}"


def _text_key(column: str | None, value: str) -> _Sql:
    needle = value.casefold()
    if len(needle) < _MIN_TRIGRAM_CHARS:  # trigrams cannot find it: every message may match
        return _ANY
    return _Sql(_FTS_DOCS, (_fts_phrase(column, needle),), False)


def _uid_ranges(ranges: Sequence[tuple[int, int]]) -> _Sql:
    if not ranges:
        return _Sql("0", (), True)
    if len(ranges) <= _MAX_OR_RANGES:
        text = " OR ".join("m.uid BETWEEN ? AND ?" for _ in ranges)
        params: list[object] = []
        for lo, hi in ranges:
            params.extend((lo, hi))
        return _Sql("(" + text + ")", tuple(params), True)
    return _Sql("EXISTS (SELECT 1 FROM json_each(?) j WHERE m.uid BETWEEN"
                " json_extract(j.value, '$[0]') AND json_extract(j.value, '$[1]'))",
                (json.dumps([list(r) for r in ranges]),), True)


def _flag_key(key: HasFlag) -> _Sql:
    flag = canonical_flag(key.flag)
    if flag == RECENT:
        return _ANY  # session state: the service resolves it to a UID set
    bit = _BITS.get(flag)
    if bit is not None:
        return _Sql(f"(m.sysflags & {bit}) {'!=' if key.is_set else '='} 0", (), True)
    if not flag or not flag.isascii() or any(ch.isspace() for ch in flag):
        return _ANY  # SQLite's lower() folds ASCII only; leave the rest to the evaluator
    test = "instr(' ' || lower(m.keywords) || ' ', ?) > 0"
    return _Sql(test if key.is_set else f"NOT ({test})", (f" {flag.lower()} ",), True)


def compile_search(key: SearchKey) -> _Sql:
    """Translate a SEARCH key into SQL over ``messages m``. Keys on flags, sizes, dates, UIDs
    and MODSEQ are exact; text keys select candidates through the trigram index (the caller
    confirms them); session state (\\Recent, sequence numbers, ``$``) is left as "any"."""
    if isinstance(key, All):
        return _Sql("1", (), True)
    if isinstance(key, HasFlag):
        return _flag_key(key)
    if isinstance(key, Recent | New | Old):
        return _ANY
    if isinstance(key, Header):
        if not key.value:
            return _ANY
        return _text_key("headers", key.value)
    if isinstance(key, Body):
        return _text_key("body", key.value)
    if isinstance(key, Text):
        return _text_key(None, key.value)
    if isinstance(key, DateCompare):
        day = "substr(m.internal_date, 1, 10)" if key.field is DateField.INTERNAL else _SENT_DAY
        return _Sql(f"{day} {_DATE_OPS[key.op]} ?", (key.date.isoformat(),), True)
    if isinstance(key, SizeCompare):
        return _Sql("m.size > ?" if key.op is SizeOp.LARGER else "m.size < ?", (key.size,), True)
    if isinstance(key, InSet):
        if key.set.is_saved or not key.is_uid or any(
                r.first is None or r.last is None for r in key.set.ranges):
            return _ANY
        return _uid_ranges(key.set.intervals(0))
    if isinstance(key, ModSeqAtLeast):
        return _Sql("m.modseq >= ?", (key.modseq,), True)
    if isinstance(key, Not):
        inner = compile_search(key.key)
        return _Sql(f"NOT ({inner.text})", inner.params, True) if inner.is_exact else _ANY
    if isinstance(key, Or):
        left, right = compile_search(key.left), compile_search(key.right)
        if left.text == "1" or right.text == "1":
            is_all = (left.text == "1" and left.is_exact) or (right.text == "1"
                                                              and right.is_exact)
            return _Sql("1", (), is_all or (left.is_exact and right.is_exact))
        return _Sql(f"({left.text} OR {right.text})", left.params + right.params,
                    left.is_exact and right.is_exact)
    if isinstance(key, And):
        parts = [compile_search(k) for k in key.keys]
        narrowing = [p for p in parts if p.text != "1"]
        exact = all(p.is_exact for p in parts)
        if not narrowing:
            return _Sql("1", (), exact)
        params: tuple[object, ...] = ()
        for p in narrowing:
            params += p.params
        return _Sql("(" + " AND ".join(p.text for p in narrowing) + ")", params, exact)
    raise TypeError(f"not a search key: {type(key).__name__}")


def search_uids(conn: sqlite3.Connection, mailbox_id: MailboxId,
                key: SearchKey) -> SearchHits:
    """UIDs of the mailbox's messages that may match ``key`` (exactly those when
    ``is_exact``), ascending."""
    get_mailbox_by_id(conn, mailbox_id)
    where = compile_search(key)
    rows = conn.execute(  # fixed SQL fragments only; every value is a bound parameter
        "SELECT m.uid FROM messages m WHERE m.mailbox_id = ? AND " + where.text  # noqa: S608
        + " ORDER BY m.uid", (mailbox_id, *where.params)).fetchall()
    return SearchHits([_int(r[0]) for r in rows], where.is_exact)


# --------------------------------------------------------------------------- inline blobs

def insert_inline_blob(conn: sqlite3.Connection, blob_id: BlobId, raw: bytes) -> None:
    conn.execute("INSERT OR IGNORE INTO inline_blobs (blob_id, data) VALUES (?, ?)",
                 (blob_id, raw))


def inline_blob(conn: sqlite3.Connection, blob_id: BlobId) -> bytes | None:
    row = conn.execute("SELECT data FROM inline_blobs WHERE blob_id = ?", (blob_id,)).fetchone()
    return None if row is None else _bytes(row[0])


def apply_search_index_migration(conn: sqlite3.Connection, version: int, script: str) -> None:
    """Create the SEARCH index tables when missing and index every stored message; keeps the
    higher ``user_version`` when later migrations already ran."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'search_docs'"
                    ).fetchone() is not None:
        return
    current = schema_version(conn)
    apply_migration(conn, version, script)
    conn.execute(f"PRAGMA user_version = {int(max(current, version))}")
    backfill_search_index(conn)
