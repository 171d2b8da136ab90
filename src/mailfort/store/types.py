"""Values the store hands out. Mail terms only: no wire types, no SQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum
from typing import NewType

__all__ = ["UserId", "MailboxId", "BlobId", "User", "MailboxInfo", "MailboxStatus",
           "MessageMeta", "SearchData", "SearchHits", "Snapshot", "ChangeKind", "Change",
           "AppendResult",
           "FlagUpdate", "FlagMode"]

UserId = NewType("UserId", int)
MailboxId = NewType("MailboxId", int)
BlobId = NewType("BlobId", str)  # hex SHA-256 of the raw message


@dataclass(frozen=True, slots=True)
class User:
    id: UserId
    name: str  # as created; look-ups are case-insensitive
    password_hash: str  # PHC string ($argon2id$...)
    created_at: dt.datetime
    is_disabled: bool = False


@dataclass(frozen=True, slots=True)
class MailboxInfo:
    id: MailboxId
    user_id: UserId
    name: str  # full hierarchical name, "/" delimited, "INBOX" canonical
    uidvalidity: int
    uidnext: int
    highest_modseq: int
    special_use: str | None  # "\\Sent", "\\Drafts", "\\Trash", "\\Junk", "\\Archive", ...


@dataclass(frozen=True, slots=True)
class MailboxStatus:
    messages: int
    uidnext: int
    uidvalidity: int
    unseen: int
    deleted: int
    size: int  # sum of RFC822.SIZE
    highest_modseq: int
    recent: int  # messages with uid >= the mailbox's first-recent mark


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A mailbox as SELECT sees it: every message's uid, flags and modseq, ascending by uid."""

    mailbox: MailboxInfo
    uids: list[int]
    flags: list[frozenset[str]]
    modseqs: list[int]


class ChangeKind(Enum):
    ADDED = "added"
    FLAGS = "flags"
    EXPUNGED = "expunged"


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of a mailbox's change log, newest modseq last."""

    modseq: int
    kind: ChangeKind
    uid: int
    flags: frozenset[str]  # for ADDED and FLAGS: the flags after the change


@dataclass(frozen=True, slots=True)
class MessageMeta:
    """What FETCH needs of one message without reading its body."""

    uid: int
    modseq: int
    flags: frozenset[str]
    internal_date: dt.datetime  # timezone-aware
    size: int
    blob_id: BlobId
    envelope: bytes
    body: bytes
    bodystructure: bytes
    mime: str  # Part.dumps() of the MIME tree


@dataclass(frozen=True, slots=True)
class SearchData:
    """The text side of a message, for SEARCH keys on headers and body."""

    uid: int
    sent_date: dt.date | None
    header_index: tuple[tuple[str, str], ...]
    body_text: str


@dataclass(frozen=True, slots=True)
class SearchHits:
    """What ``Messages.search`` found: ascending UIDs that may match (``is_exact`` False: the
    caller confirms each with ``mail.search.matches``) or that match exactly."""

    uids: list[int]
    is_exact: bool


@dataclass(frozen=True, slots=True)
class AppendResult:
    uid: int
    uidvalidity: int
    modseq: int


class FlagMode(Enum):
    REPLACE = "replace"
    ADD = "add"
    REMOVE = "remove"


@dataclass(frozen=True, slots=True)
class FlagUpdate:
    """A message whose flags a STORE changed (or, with UNCHANGEDSINCE, failed to change)."""

    uid: int
    flags: frozenset[str]
    modseq: int
