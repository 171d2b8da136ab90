"""``SqliteLabelStore``: ``store.labels.LabelStore`` on the mail store's database
(``migrations/0005_labels.sql``), through its single writer and read-only reader threads.
Build it through ``SqliteMailStore.labels``."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Protocol, TypeVar

from mailfort.store.labels import Honeytoken, HoneytokenKind, MailboxLabel
from mailfort.store.types import MailboxId

__all__ = ["SqliteLabelStore"]

T = TypeVar("T")


class _Db(Protocol):
    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T: ...
    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T: ...


class SqliteLabelStore:
    def __init__(self, db: _Db) -> None:
        self._db = db

    async def set_label(self, mailbox_id: MailboxId, label: str, at: float) -> bool:
        def q(c: sqlite3.Connection) -> bool:
            cur = c.execute("INSERT OR IGNORE INTO mailbox_labels (mailbox_id, label, created_at)"
                            " VALUES (?, ?, ?)", (mailbox_id, label, at))
            return cur.rowcount > 0
        return await self._db.write(q)

    async def clear_label(self, mailbox_id: MailboxId, label: str) -> bool:
        def q(c: sqlite3.Connection) -> bool:
            cur = c.execute("DELETE FROM mailbox_labels WHERE mailbox_id = ? AND label = ?",
                            (mailbox_id, label))
            return cur.rowcount > 0
        return await self._db.write(q)

    async def labels_of(self, mailbox_id: MailboxId) -> frozenset[str]:
        def q(c: sqlite3.Connection) -> frozenset[str]:
            rows = c.execute("SELECT label FROM mailbox_labels WHERE mailbox_id = ?",
                             (mailbox_id,)).fetchall()
            return frozenset(str(r[0]) for r in rows)
        return await self._db.read(q)

    async def list_labels(self, label: str | None = None) -> list[MailboxLabel]:
        def q(c: sqlite3.Connection) -> list[MailboxLabel]:
            rows = c.execute(
                "SELECT u.name, m.name, l.label, l.created_at FROM mailbox_labels l "
                "JOIN mailboxes m ON m.id = l.mailbox_id JOIN users u ON u.id = m.user_id "
                "WHERE ? IS NULL OR l.label = ? ORDER BY u.name_key, m.name, l.label",
                (label, label)).fetchall()
            return [MailboxLabel(str(r[0]), str(r[1]), str(r[2]), float(r[3])) for r in rows]
        return await self._db.read(q)

    async def add_honeytoken(self, token: Honeytoken) -> bool:
        def q(c: sqlite3.Connection) -> bool:
            cur = c.execute("INSERT OR IGNORE INTO honeytokens (kind, user_name, name, uid, "
                            "created_at) VALUES (?, ?, ?, ?, ?)",
                            (token.kind.value, token.user, token.name, token.uid,
                             token.created_at))
            return cur.rowcount > 0
        return await self._db.write(q)

    async def honeytokens(self) -> list[Honeytoken]:
        def q(c: sqlite3.Connection) -> list[Honeytoken]:
            rows = c.execute("SELECT kind, user_name, name, uid, created_at FROM honeytokens "
                             "ORDER BY created_at, kind, user_name").fetchall()
            return [Honeytoken(HoneytokenKind(str(r[0])), str(r[1]), str(r[2]), int(r[3]),
                               float(r[4])) for r in rows]
        return await self._db.read(q)
