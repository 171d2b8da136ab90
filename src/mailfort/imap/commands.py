"""One frozen dataclass per IMAP command (RFC 9051 §6 plus the RFC 3501 forms clients still
send). The UID prefix is a field (``is_uid``), EXAMINE is ``Select(is_readonly=True)``.

The parser (``grammar/parser.py``) produces these; ``service/imap`` carries them out. Every
command carries its ``tag``. Mailbox names arrive already decoded from modified UTF-7 (or UTF-8
after ENABLE UTF8=ACCEPT) to ``str``; ``INBOX`` in any case is normalised to ``"INBOX"``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import Enum

from mailfort.core.secret import Secret
from mailfort.imap.acl_commands import (
    DeleteAcl,
    GetAcl,
    GetQuota,
    GetQuotaRoot,
    ListRights,
    MyRights,
    SetAcl,
    SetQuota,
)
from mailfort.mail.search import SearchKey
from mailfort.mail.uidset import SequenceSet

__all__ = [
    "Capability", "Noop", "Logout", "StartTLS", "Login", "Authenticate", "Enable", "Id",
    "Select", "Create", "Delete", "Rename", "Subscribe", "Unsubscribe", "List", "ListReturn",
    "Lsub", "Namespace", "Status", "Append", "AppendMessage", "Idle", "Check", "Close",
    "Unselect", "Expunge", "Search", "SearchReturn", "Fetch", "FetchAtt", "FetchItem",
    "Section", "SectionText", "BodySection", "BinarySection", "BinarySize", "Store",
    "StoreMode", "Copy", "Move", "Command", "StatusItem",
    "GetAcl", "SetAcl", "DeleteAcl", "ListRights", "MyRights", "GetQuota", "GetQuotaRoot",
    "SetQuota",
]


# ---- any state ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Capability:
    tag: str


@dataclass(frozen=True, slots=True)
class Noop:
    tag: str


@dataclass(frozen=True, slots=True)
class Logout:
    tag: str


@dataclass(frozen=True, slots=True)
class Id:
    """ID (RFC 2971): ``params`` is None for ``ID NIL``."""

    tag: str
    params: tuple[tuple[str, str | None], ...] | None


# ---- not authenticated -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StartTLS:
    tag: str


@dataclass(frozen=True, slots=True)
class Login:
    tag: str
    username: str
    password: Secret[str]


@dataclass(frozen=True, slots=True)
class Authenticate:
    """AUTHENTICATE mech [initial-response]. ``initial_response`` is the base64-decoded SASL-IR
    (``=`` decodes to ``b""``), or None when the client will send it after a continuation."""

    tag: str
    mechanism: str  # upper-case
    initial_response: Secret[bytes] | None


# ---- authenticated -----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Enable:
    tag: str
    capabilities: tuple[str, ...]  # upper-case


@dataclass(frozen=True, slots=True)
class Select:
    """SELECT, or EXAMINE when ``is_readonly``. ``condstore`` for the (CONDSTORE) parameter."""

    tag: str
    mailbox: str
    is_readonly: bool = False
    condstore: bool = False


@dataclass(frozen=True, slots=True)
class Create:
    tag: str
    mailbox: str
    special_use: tuple[str, ...] = ()  # CREATE-SPECIAL-USE "(USE (\Sent))"


@dataclass(frozen=True, slots=True)
class Delete:
    tag: str
    mailbox: str


@dataclass(frozen=True, slots=True)
class Rename:
    tag: str
    mailbox: str
    new_name: str


@dataclass(frozen=True, slots=True)
class Subscribe:
    tag: str
    mailbox: str


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    tag: str
    mailbox: str


class StatusItem(Enum):
    MESSAGES = "MESSAGES"
    UIDNEXT = "UIDNEXT"
    UIDVALIDITY = "UIDVALIDITY"
    UNSEEN = "UNSEEN"
    DELETED = "DELETED"
    SIZE = "SIZE"
    RECENT = "RECENT"
    HIGHESTMODSEQ = "HIGHESTMODSEQ"


@dataclass(frozen=True, slots=True)
class ListReturn:
    """LIST-EXTENDED return options (RFC 5258, RFC 5819 LIST-STATUS, RFC 6154)."""

    subscribed: bool = False
    children: bool = False
    special_use: bool = False
    status: tuple[StatusItem, ...] | None = None


@dataclass(frozen=True, slots=True)
class List:
    """LIST [(selection)] reference (pattern | (patterns)) [RETURN (options)].

    ``selection`` holds upper-case options: SUBSCRIBED, REMOTE, RECURSIVEMATCH, SPECIAL-USE.
    ``is_extended`` is True when any selection or return option or a pattern list was given.
    """

    tag: str
    reference: str
    patterns: tuple[str, ...]
    selection: frozenset[str] = frozenset()
    returns: ListReturn = field(default_factory=ListReturn)
    is_extended: bool = False


@dataclass(frozen=True, slots=True)
class Lsub:
    tag: str
    reference: str
    pattern: str


@dataclass(frozen=True, slots=True)
class Namespace:
    tag: str


@dataclass(frozen=True, slots=True)
class Status:
    tag: str
    mailbox: str
    items: tuple[StatusItem, ...]


@dataclass(frozen=True, slots=True)
class AppendMessage:
    flags: tuple[str, ...]
    internal_date: dt.datetime | None  # timezone-aware
    message: bytes  # the literal, as sent (may be literal8 ~{n} for BINARY)


@dataclass(frozen=True, slots=True)
class Append:
    tag: str
    mailbox: str
    messages: tuple[AppendMessage, ...]  # one, or several with MULTIAPPEND


@dataclass(frozen=True, slots=True)
class Idle:
    tag: str


# ---- selected ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Check:
    tag: str


@dataclass(frozen=True, slots=True)
class Close:
    tag: str


@dataclass(frozen=True, slots=True)
class Unselect:
    tag: str


@dataclass(frozen=True, slots=True)
class Expunge:
    """EXPUNGE, or UID EXPUNGE set when ``uids`` is given (UIDPLUS)."""

    tag: str
    uids: SequenceSet | None = None


@dataclass(frozen=True, slots=True)
class SearchReturn:
    """ESEARCH ``RETURN (...)`` options. ``RETURN ()`` means ALL."""

    min: bool = False
    max: bool = False
    all: bool = False
    count: bool = False
    save: bool = False


@dataclass(frozen=True, slots=True)
class Search:
    """SEARCH [RETURN (...)] [CHARSET x] keys. ``returns`` None = classic ``* SEARCH`` reply."""

    tag: str
    is_uid: bool
    key: SearchKey
    charset: str | None = None
    returns: SearchReturn | None = None


class FetchItem(Enum):
    FLAGS = "FLAGS"
    INTERNALDATE = "INTERNALDATE"
    RFC822_SIZE = "RFC822.SIZE"
    ENVELOPE = "ENVELOPE"
    BODY = "BODY"
    BODYSTRUCTURE = "BODYSTRUCTURE"
    UID = "UID"
    MODSEQ = "MODSEQ"
    RFC822 = "RFC822"  # = BODY[]; sets \Seen
    RFC822_HEADER = "RFC822.HEADER"  # = BODY.PEEK[HEADER]
    RFC822_TEXT = "RFC822.TEXT"  # = BODY[TEXT]; sets \Seen


class SectionText(Enum):
    HEADER = "HEADER"
    HEADER_FIELDS = "HEADER.FIELDS"
    HEADER_FIELDS_NOT = "HEADER.FIELDS.NOT"
    TEXT = "TEXT"
    MIME = "MIME"


@dataclass(frozen=True, slots=True)
class Section:
    """``section-spec``: part numbers, then an optional text spec. ``BODY[]`` is
    ``Section((), None)``. ``fields`` are the header field names as given (for echoing)."""

    part: tuple[int, ...] = ()
    text: SectionText | None = None
    fields: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BodySection:
    """BODY[section]<partial> / BODY.PEEK[...]. ``partial`` is (offset, length)."""

    section: Section
    partial: tuple[int, int] | None = None
    is_peek: bool = False


@dataclass(frozen=True, slots=True)
class BinarySection:
    """BINARY[part]<partial> / BINARY.PEEK[...] (RFC 3516)."""

    part: tuple[int, ...]
    partial: tuple[int, int] | None = None
    is_peek: bool = False


@dataclass(frozen=True, slots=True)
class BinarySize:
    """BINARY.SIZE[part]"""

    part: tuple[int, ...]


FetchAtt = FetchItem | BodySection | BinarySection | BinarySize


@dataclass(frozen=True, slots=True)
class Fetch:
    """FETCH / UID FETCH. Macros (ALL FAST FULL) are expanded by the parser. For UID FETCH the
    parser does *not* add UID; the service always reports it. ``changed_since`` is CONDSTORE."""

    tag: str
    is_uid: bool
    sequence_set: SequenceSet
    items: tuple[FetchAtt, ...]
    changed_since: int | None = None


class StoreMode(Enum):
    REPLACE = ""
    ADD = "+"
    REMOVE = "-"


@dataclass(frozen=True, slots=True)
class Store:
    tag: str
    is_uid: bool
    sequence_set: SequenceSet
    mode: StoreMode
    flags: tuple[str, ...]
    is_silent: bool = False
    unchanged_since: int | None = None


@dataclass(frozen=True, slots=True)
class Copy:
    tag: str
    is_uid: bool
    sequence_set: SequenceSet
    mailbox: str


@dataclass(frozen=True, slots=True)
class Move:
    tag: str
    is_uid: bool
    sequence_set: SequenceSet
    mailbox: str


Command = (
    Capability | Noop | Logout | Id | StartTLS | Login | Authenticate | Enable | Select
    | Create | Delete | Rename | Subscribe | Unsubscribe | List | Lsub | Namespace | Status
    | Append | Idle | Check | Close | Unselect | Expunge | Search | Fetch | Store | Copy | Move
    | GetAcl | SetAcl | DeleteAcl | ListRights | MyRights | GetQuota | GetQuotaRoot | SetQuota
)
