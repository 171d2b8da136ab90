"""RFC 4314 access rights: the letters, a set of them, and rights strings on the wire.

``rights = astring`` (RFC 4314 §9): each character is one right. Mailfort knows the eleven
standard rights ``l r s w i p k x t e a`` (§2.1) and the obsolete RFC 2086 ``c`` and ``d``
(§2.1.1), which it accepts on input as the macros CREATE = ``k x`` and DELETE = ``x t e`` and
adds to LISTRIGHTS/MYRIGHTS/GETACL answers for old clients. Digits (implementation-defined
rights) and any other character are refused: Mailfort defines none.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Final

from mailfort.core.errors import MailfortError

__all__ = ["Right", "Rights", "InvalidRights", "ALL_RIGHTS", "NO_RIGHTS", "RIGHTS_ORDER",
           "CREATE_SET", "DELETE_SET", "parse_rights", "format_rights", "format_with_obsolete",
           "RightsChange", "parse_rights_change"]


class InvalidRights(MailfortError):
    """A rights string with a character that is no right Mailfort knows."""


class Right(Enum):
    """One RFC 4314 §2.1 right."""

    LOOKUP = "l"  # mailbox is visible to LIST/LSUB; SUBSCRIBE
    READ = "r"  # SELECT, EXAMINE, STATUS, FETCH, SEARCH, COPY source
    SEEN = "s"  # keep \Seen across sessions (STORE \Seen)
    WRITE = "w"  # STORE of flags other than \Seen and \Deleted
    INSERT = "i"  # APPEND, COPY/MOVE into
    POST = "p"  # send mail to the submission address (unused by IMAP itself)
    CREATE = "k"  # CREATE children, RENAME into
    DELETE_MAILBOX = "x"  # DELETE, RENAME away
    DELETE_MESSAGE = "t"  # STORE \Deleted
    EXPUNGE = "e"  # EXPUNGE, MOVE source
    ADMINISTER = "a"  # SETACL, DELETEACL, GETACL, LISTRIGHTS


RIGHTS_ORDER: Final = "lrswipkxtea"
_BY_LETTER: Final = {r.value: r for r in Right}


@dataclass(frozen=True, slots=True)
class Rights:
    """A set of rights; iterates and formats in RFC order (``lrswipkxtea``)."""

    members: frozenset[Right] = frozenset()

    @classmethod
    def of(cls, *rights: Right) -> Rights:
        return cls(frozenset(rights))

    def __contains__(self, right: object) -> bool:
        return right in self.members

    def __iter__(self) -> Iterator[Right]:
        return (r for r in Right if r in self.members)

    def __len__(self) -> int:
        return len(self.members)

    def __bool__(self) -> bool:
        return bool(self.members)

    def __or__(self, other: Rights) -> Rights:
        return Rights(self.members | other.members)

    def __and__(self, other: Rights) -> Rights:
        return Rights(self.members & other.members)

    def __sub__(self, other: Rights) -> Rights:
        return Rights(self.members - other.members)

    def issuperset(self, other: Rights) -> bool:
        return self.members >= other.members

    def __str__(self) -> str:
        return format_rights(self)


ALL_RIGHTS: Final = Rights(frozenset(Right))
NO_RIGHTS: Final = Rights()
CREATE_SET: Final = Rights.of(Right.CREATE, Right.DELETE_MAILBOX)  # obsolete "c"
DELETE_SET: Final = Rights.of(Right.DELETE_MAILBOX, Right.DELETE_MESSAGE, Right.EXPUNGE)  # "d"
MAX_RIGHTS_CHARS: Final = 64  # a rights string is short; refuse floods before looking at them


def parse_rights(text: str) -> Rights:
    """``"lrs"`` -> Rights. ``c`` and ``d`` expand to CREATE_SET / DELETE_SET (RFC 4314
    §2.1.1). Repeats are fine; anything else raises InvalidRights."""
    if len(text) > MAX_RIGHTS_CHARS:
        raise InvalidRights("rights string too long")
    out: set[Right] = set()
    for ch in text:
        if ch == "c":
            out |= CREATE_SET.members
        elif ch == "d":
            out |= DELETE_SET.members
        else:
            right = _BY_LETTER.get(ch)
            if right is None:
                raise InvalidRights("unknown right")
            out.add(right)
    return Rights(frozenset(out))


def format_rights(rights: Rights | Iterable[Right]) -> str:
    """Canonical order, standard letters only (``""`` for no rights)."""
    members = rights.members if isinstance(rights, Rights) else frozenset(rights)
    return "".join(r.value for r in Right if r in members)


def format_with_obsolete(rights: Rights) -> str:
    """For MYRIGHTS/GETACL answers (RFC 4314 §2.1.1): the standard letters plus ``c`` when
    any right of CREATE_SET is held and ``d`` when any right of DELETE_SET is held."""
    text = format_rights(rights)
    if rights & CREATE_SET:
        text += "c"
    if rights & DELETE_SET:
        text += "d"
    return text


class _Mode(Enum):
    REPLACE = ""
    ADD = "+"
    REMOVE = "-"


@dataclass(frozen=True, slots=True)
class RightsChange:
    """A SETACL ``mod-rights`` value (RFC 4314 §3.1): replace, ``+add`` or ``-remove``."""

    mode: str  # "", "+" or "-"
    rights: Rights

    def apply(self, current: Rights) -> Rights:
        if self.mode == "+":
            return current | self.rights
        if self.mode == "-":
            return current - self.rights
        return self.rights


def parse_rights_change(text: str) -> RightsChange:
    """``"+lr"`` / ``"-w"`` / ``"lrs"`` -> RightsChange."""
    if text[:1] in ("+", "-"):
        return RightsChange(_Mode(text[0]).value, parse_rights(text[1:]))
    return RightsChange("", parse_rights(text))
