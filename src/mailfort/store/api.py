"""The storage interface. Backends (``store.sqlite``, later ``store.postgres``) implement it and
pass one conformance suite (tests/conformance/store). Everything is async so a networked
backend fits; every write is durable when its coroutine returns.

Mailbox names are full names with "/" as the hierarchy delimiter; "INBOX" is canonical for the
inbox. Look-ups of user names are case-insensitive.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Protocol

from mailfort.mail.message import ParsedMessage
from mailfort.mail.search import SearchKey
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

__all__ = ["Users", "Mailboxes", "Messages", "Notifier", "MailStore", "DEFAULT_MAILBOXES"]

# Created for every new account, with their SPECIAL-USE attribute (RFC 6154).
DEFAULT_MAILBOXES: tuple[tuple[str, str | None], ...] = (
    ("INBOX", None), ("Sent", "\\Sent"), ("Drafts", "\\Drafts"), ("Trash", "\\Trash"),
    ("Junk", "\\Junk"), ("Archive", "\\Archive"),
)


class Users(Protocol):
    async def create(self, name: str, password_hash: str) -> User:
        """Create the account and its DEFAULT_MAILBOXES in one transaction. UserExists."""
        ...

    async def get(self, name: str) -> User | None: ...
    async def get_by_id(self, user_id: UserId) -> User | None: ...
    async def set_password_hash(self, user_id: UserId, password_hash: str) -> None: ...
    async def delete(self, name: str) -> None:
        """Remove the account, its mailboxes and messages. NoSuchUser."""
        ...

    async def list(self) -> list[User]: ...


class Mailboxes(Protocol):
    async def create(self, user_id: UserId, name: str,
                     special_use: str | None = None) -> MailboxInfo:
        """MailboxExists. A fresh mailbox gets a new UIDVALIDITY (never reused for a name)."""
        ...

    async def get(self, user_id: UserId, name: str) -> MailboxInfo | None: ...
    async def list(self, user_id: UserId) -> list[MailboxInfo]: ...
    async def delete(self, user_id: UserId, name: str) -> None:
        """Delete one mailbox and its messages (children stay). NoSuchMailbox."""
        ...

    async def rename(self, user_id: UserId, old: str, new: str) -> None:
        """Rename ``old`` and every ``old/…`` child. NoSuchMailbox, MailboxExists. Renaming
        INBOX is the service's job (it moves the messages and keeps INBOX)."""
        ...

    async def set_subscribed(self, user_id: UserId, name: str, is_subscribed: bool) -> None:
        """Subscriptions are names; a name may be subscribed without existing."""
        ...

    async def subscriptions(self, user_id: UserId) -> set[str]: ...
    async def status(self, mailbox_id: MailboxId) -> MailboxStatus: ...


class Messages(Protocol):
    async def append(self, mailbox_id: MailboxId, raw: bytes, parsed: ParsedMessage,
                     flags: frozenset[str], internal_date: dt.datetime) -> AppendResult:
        """Write the blob durably, then in one transaction assign UID and MODSEQ and record
        the change. Returns only after both are on disk. NoSuchMailbox."""
        ...

    async def snapshot(self, mailbox_id: MailboxId) -> Snapshot: ...

    async def claim_recent(self, mailbox_id: MailboxId, up_to_uid: int | None = None) -> int:
        """Atomically take the \\Recent messages: return the first UID that is recent for the
        caller and move the mailbox's mark past UIDNEXT - 1 (or past ``up_to_uid``, the last
        message the caller knows of), so no other session sees them as recent. Used by SELECT
        (not EXAMINE) and by a selected session that learns of new messages."""
        ...

    async def changes_since(self, mailbox_id: MailboxId, modseq: int) -> list[Change]:
        """Change-log entries with modseq > ``modseq``, oldest first."""
        ...

    async def fetch_meta(self, mailbox_id: MailboxId, uids: Sequence[int]) -> list[MessageMeta]:
        """Metadata of these UIDs that still exist, ascending by uid."""
        ...

    async def search_data(self, mailbox_id: MailboxId, uids: Sequence[int]) -> list[SearchData]:
        ...

    async def search(self, mailbox_id: MailboxId, key: SearchKey) -> SearchHits:
        """UIDs of the mailbox's messages that may satisfy ``key``, ascending, from an index
        built at delivery. Keys on flags, sizes, INTERNALDATE/SENT* dates, UID sets and MODSEQ
        are exact; string keys pick candidates (a trigram index on case-folded text: needles
        under 3 characters match every message) and ``is_exact`` is then False, so the caller
        confirms each candidate with ``mail.search.matches``. Session state (\\Recent,
        sequence numbers, ``$``) is unknown here: pass it resolved to UID sets, or it is
        treated as "may match". NoSuchMailbox."""
        ...

    async def read_blob(self, blob_id: BlobId) -> bytes: ...

    async def store_flags(self, mailbox_id: MailboxId, uids: Sequence[int], mode: FlagMode,
                          flags: frozenset[str], unchanged_since: int | None = None,
                          ) -> tuple[list[FlagUpdate], list[int]]:
        """Change flags; returns (messages whose flags changed, with their new modseq; uids
        refused by UNCHANGEDSINCE). Messages whose flags do not change get no new modseq."""
        ...

    async def expunge(self, mailbox_id: MailboxId, uids: Sequence[int] | None = None) -> list[int]:
        """Remove messages flagged \\Deleted (only those in ``uids`` when given). Returns the
        expunged uids, ascending."""
        ...

    async def copy(self, src: MailboxId, uids: Sequence[int], dst: MailboxId,
                   ) -> tuple[int, list[tuple[int, int]]]:
        """Copy messages (blobs are shared, not duplicated). Returns (dst uidvalidity,
        [(src_uid, dst_uid)])."""
        ...

    async def move(self, src: MailboxId, uids: Sequence[int], dst: MailboxId,
                   ) -> tuple[int, list[tuple[int, int]]]:
        """Copy then expunge from ``src`` in one transaction."""
        ...


class Notifier(Protocol):
    """Tells sessions that a mailbox changed. In-process for SQLite; LISTEN/NOTIFY for
    PostgreSQL. Callbacks run on the event loop and must not block."""

    def subscribe(self, mailbox_id: MailboxId, callback: Callable[[MailboxId], None]) -> None: ...
    def unsubscribe(self, mailbox_id: MailboxId,
                    callback: Callable[[MailboxId], None]) -> None: ...


class MailStore(Protocol):
    @property
    def users(self) -> Users: ...
    @property
    def mailboxes(self) -> Mailboxes: ...
    @property
    def messages(self) -> Messages: ...
    @property
    def notifier(self) -> Notifier: ...
    async def close(self) -> None: ...
