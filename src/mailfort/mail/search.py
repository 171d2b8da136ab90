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

from mailfort.mail.flags import RECENT, SEEN, canonical_flag
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
    """True when ``msg`` satisfies ``key``. ``saved`` is the resolved ``$`` as a UID set.

    String keys match case-insensitively (``str.casefold``) as substrings of decoded text.
    SENT* compare the Date: header's date, or the internal date's when the message has no
    usable Date: header (as Dovecot does). ``And``/``Or`` evaluate keys that need no text
    first, so text is loaded only when the cheap keys have not already decided. ``$`` with no
    saved result matches nothing. Keyword matching relies on ``SearchTarget.has_flag`` being
    case-insensitive for keywords; system flags are passed in their canonical spelling.
    """
    return _Evaluator(msg, largest_seq, largest_uid, saved).eval(key)


def _is_costly(key: SearchKey) -> bool:
    """True when evaluating ``key`` may need header or body text."""
    if isinstance(key, Header | Body | Text):
        return True
    if isinstance(key, Not):
        return _is_costly(key.key)
    if isinstance(key, Or):
        return _is_costly(key.left) or _is_costly(key.right)
    if isinstance(key, And):
        return any(_is_costly(k) for k in key.keys)
    return False


def _contains(haystack: str, needle: str) -> bool:
    return needle.casefold() in haystack.casefold()


class _Evaluator:
    __slots__ = ("msg", "largest_seq", "largest_uid", "saved")

    def __init__(self, msg: SearchTarget, largest_seq: int, largest_uid: int,
                 saved: SequenceSet | None) -> None:
        self.msg = msg
        self.largest_seq = largest_seq
        self.largest_uid = largest_uid
        self.saved = saved

    def eval(self, key: SearchKey) -> bool:
        msg = self.msg
        if isinstance(key, All):
            return True
        if isinstance(key, HasFlag):
            flag = canonical_flag(key.flag)
            present = msg.is_recent if flag == RECENT else msg.has_flag(flag)
            return present == key.is_set
        if isinstance(key, Recent):
            return msg.is_recent
        if isinstance(key, New):
            return msg.is_recent and not msg.has_flag(SEEN)
        if isinstance(key, Old):
            return not msg.is_recent
        if isinstance(key, SizeCompare):
            if key.op is SizeOp.LARGER:
                return msg.size > key.size
            return msg.size < key.size
        if isinstance(key, DateCompare):
            day = msg.sent_date if key.field is DateField.SENT else None
            if day is None:
                day = msg.internal_date.date()
            if key.op is DateOp.BEFORE:
                return day < key.date
            if key.op is DateOp.ON:
                return day == key.date
            return day >= key.date
        if isinstance(key, InSet):
            if key.set.is_saved:
                return self.saved is not None and self.saved.contains(msg.uid, self.largest_uid)
            if key.is_uid:
                return key.set.contains(msg.uid, self.largest_uid)
            return key.set.contains(msg.seq, self.largest_seq)
        if isinstance(key, ModSeqAtLeast):
            return msg.modseq >= key.modseq
        if isinstance(key, Header):
            values = msg.header_values(key.name.lower())
            if not key.value:
                return bool(values)
            return any(_contains(v, key.value) for v in values)
        if isinstance(key, Body):
            return _contains(msg.body_text(), key.value)
        if isinstance(key, Text):
            return _contains(msg.header_text(), key.value) or _contains(msg.body_text(),
                                                                         key.value)
        if isinstance(key, Not):
            return not self.eval(key.key)
        if isinstance(key, Or):
            first, second = key.left, key.right
            if _is_costly(first) and not _is_costly(second):
                first, second = second, first
            return self.eval(first) or self.eval(second)
        if isinstance(key, And):
            cheap = [k for k in key.keys if not _is_costly(k)]
            costly = [k for k in key.keys if _is_costly(k)]
            return all(self.eval(k) for k in cheap) and all(self.eval(k) for k in costly)
        raise TypeError(f"not a search key: {type(key).__name__}")
