"""SEARCH as a query AST (RFC 9051 §6.4.4) and its evaluator.

The AST is shared by the IMAP grammar (which builds it), the store (which may push parts of it
down into SQL or a full-text index) and the service layer. It speaks mail terms, not wire terms.
String matching is case-insensitive substring matching on *decoded* text (RFC 9051 §6.4.4).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from mailfort.mail.uidset import SequenceSet

__all__ = [
    "DateField", "DateOp", "SizeOp",
    "All", "HasFlag", "Recent", "New", "Old", "Header", "Body", "Text", "DateCompare",
    "SizeCompare", "InSet", "Not", "Or", "And", "ModSeqAtLeast", "SearchKey",
    "SearchTarget", "matches",
]


class DateField(Enum):
    INTERNAL = "internal"  # BEFORE/ON/SINCE: INTERNALDATE, date part, server timezone
    SENT = "sent"  # SENTBEFORE/SENTON/SENTSINCE: Date: header, date part, its own timezone


class DateOp(Enum):
    BEFORE = "before"
    ON = "on"
    SINCE = "since"


class SizeOp(Enum):
    LARGER = "larger"
    SMALLER = "smaller"


@dataclass(frozen=True, slots=True)
class All:
    """ALL"""


@dataclass(frozen=True, slots=True)
class HasFlag:
    """ANSWERED DELETED DRAFT FLAGGED SEEN KEYWORD (``is_set``) and UN* (not ``is_set``)."""

    flag: str
    is_set: bool = True


@dataclass(frozen=True, slots=True)
class Recent:
    """RECENT (rev1); UNRECENT is ``Not(Recent())``."""


@dataclass(frozen=True, slots=True)
class New:
    """NEW = RECENT UNSEEN"""


@dataclass(frozen=True, slots=True)
class Old:
    """OLD = NOT RECENT"""


@dataclass(frozen=True, slots=True)
class Header:
    """HEADER name value; also FROM TO CC BCC SUBJECT. An empty ``value`` matches any message
    that has the field."""

    name: str  # lower-case field name
    value: str


@dataclass(frozen=True, slots=True)
class Body:
    """BODY string: the decoded body text."""

    value: str


@dataclass(frozen=True, slots=True)
class Text:
    """TEXT string: headers or body."""

    value: str


@dataclass(frozen=True, slots=True)
class DateCompare:
    field: DateField
    op: DateOp
    date: dt.date


@dataclass(frozen=True, slots=True)
class SizeCompare:
    op: SizeOp
    size: int


@dataclass(frozen=True, slots=True)
class InSet:
    """A sequence set (``is_uid`` False) or ``UID set``. ``$`` is ``SequenceSet.saved()``."""

    set: SequenceSet
    is_uid: bool


@dataclass(frozen=True, slots=True)
class ModSeqAtLeast:
    """MODSEQ n (CONDSTORE): messages whose mod-sequence is >= n."""

    modseq: int


@dataclass(frozen=True, slots=True)
class Not:
    key: SearchKey


@dataclass(frozen=True, slots=True)
class Or:
    left: SearchKey
    right: SearchKey


@dataclass(frozen=True, slots=True)
class And:
    keys: tuple[SearchKey, ...]


SearchKey = (
    All | HasFlag | Recent | New | Old | Header | Body | Text | DateCompare | SizeCompare
    | InSet | ModSeqAtLeast | Not | Or | And
)


class SearchTarget(Protocol):
    """What the evaluator needs of one message. Text accessors are called lazily, so a query
    on flags alone never loads text."""

    @property
    def seq(self) -> int: ...
    @property
    def uid(self) -> int: ...
    @property
    def modseq(self) -> int: ...
    @property
    def size(self) -> int: ...
    @property
    def internal_date(self) -> dt.datetime: ...
    @property
    def sent_date(self) -> dt.date | None: ...
    @property
    def is_recent(self) -> bool: ...
    def has_flag(self, flag: str) -> bool: ...
    def header_values(self, name: str) -> list[str]:
        """Decoded values of every field with this lower-case name, in order."""
        ...
    def header_text(self) -> str:
        """All decoded header text, for TEXT."""
        ...
    def body_text(self) -> str:
        """Decoded text of the body (text parts, transfer-decoded and charset-decoded)."""
        ...


def matches(key: SearchKey, msg: SearchTarget, *, largest_seq: int, largest_uid: int,
            saved: SequenceSet | None = None) -> bool:
    """True when ``msg`` satisfies ``key``. ``saved`` is the resolved ``$`` as a UID set."""
    raise NotImplementedError  # implemented by the mail layer
