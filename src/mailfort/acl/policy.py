"""THE decision "may this user do this here?" -- every IMAP handler asks it, nowhere else.

Two pure steps (docs/decisions/005-acl-model.md):

1. :func:`effective_rights` -- the rights a :class:`Principal` holds on one mailbox: the owner's
   implicit rights, then the union of the ACL entries naming the user, one of their
   ``$group`` s, or ``anyone``. Roles add nothing: an admin reads nobody's mail by role.
   Negative rights (``-identifier``) are refused when set (:func:`parse_identifier`), so an
   ACL never holds one.
2. :func:`decide` -- given an :class:`Operation` and the rights held on each
   :class:`Target` it touches, look up :data:`REQUIRED` (the per-command table, as data) and
   answer ALLOWED, DENIED (``NO [NOPERM]``, a security event) or HIDDEN (answer exactly as
   for a mailbox that does not exist: the user may not even learn it exists).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Final

from mailfort.acl.rights import ALL_RIGHTS, NO_RIGHTS, Right, Rights
from mailfort.acl.roles import Role
from mailfort.core.errors import MailfortError
from mailfort.mail.flags import DELETED, SEEN, canonical_flag

__all__ = ["ANYONE", "GROUP_PREFIX", "InvalidIdentifier", "NegativeRightsUnsupported",
           "Identifier", "IdentifierKind", "parse_identifier", "AclEntry", "Principal",
           "Owner", "OwnerKind", "OWNER_RIGHTS", "OWNER_GROUP_RIGHTS", "effective_rights",
           "Operation", "Target", "REQUIRED", "Outcome", "Decision", "decide",
           "store_rights", "permitted_flags", "is_visible", "STATE_CHANGING_RIGHTS",
           "is_read_write", "permanent_flags"]

ANYONE: Final = "anyone"
GROUP_PREFIX: Final = "$"
MAX_IDENTIFIER_CHARS: Final = 255


class InvalidIdentifier(MailfortError):
    pass


class NegativeRightsUnsupported(InvalidIdentifier):
    """``-identifier`` (RFC 4314 §2): Mailfort refuses negative rights (SETACL answers NO)."""


class IdentifierKind(Enum):
    USER = "user"
    GROUP = "group"
    ANYONE = "anyone"


@dataclass(frozen=True, slots=True)
class Identifier:
    """An ACL identifier: a user name, ``$group``, or ``anyone``. ``name`` is without ``$``."""

    kind: IdentifierKind
    name: str

    def __str__(self) -> str:
        if self.kind is IdentifierKind.GROUP:
            return GROUP_PREFIX + self.name
        return ANYONE if self.kind is IdentifierKind.ANYONE else self.name


def parse_identifier(text: str) -> Identifier:
    """``alice`` / ``$sales`` / ``anyone``. NegativeRightsUnsupported for ``-…``;
    InvalidIdentifier for empty, over-long, or control/space-holding identifiers."""
    if text.startswith("-"):
        raise NegativeRightsUnsupported("negative rights are not supported")
    if not text or len(text) > MAX_IDENTIFIER_CHARS or any(
            ord(ch) < 0x21 or ord(ch) == 0x7F for ch in text):
        raise InvalidIdentifier("invalid identifier")
    if text.casefold() == ANYONE:
        return Identifier(IdentifierKind.ANYONE, ANYONE)
    if text.startswith(GROUP_PREFIX):
        if len(text) == 1:
            raise InvalidIdentifier("invalid identifier")
        return Identifier(IdentifierKind.GROUP, text[1:].casefold())
    return Identifier(IdentifierKind.USER, text.casefold())


@dataclass(frozen=True, slots=True)
class AclEntry:
    identifier: Identifier
    rights: Rights


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: login name, the groups they belong to (names, no ``$``), and role."""

    user: str
    groups: frozenset[str] = frozenset()
    role: Role = Role.USER

    def identifiers(self) -> frozenset[Identifier]:
        return frozenset({Identifier(IdentifierKind.USER, self.user.casefold()),
                          Identifier(IdentifierKind.ANYONE, ANYONE)}
                         | {Identifier(IdentifierKind.GROUP, g.casefold()) for g in self.groups})


class OwnerKind(Enum):
    USER = "user"  # a personal mailbox (also when seen under "Other Users/")
    GROUP = "group"  # a shared mailbox, owned by a group


@dataclass(frozen=True, slots=True)
class Owner:
    kind: OwnerKind
    name: str  # user login name, or group name without "$"


# The owner of a personal mailbox holds every right; members of a shared mailbox's owning
# group hold every right but "a" (who may change the ACL is granted explicitly).
OWNER_RIGHTS: Final = ALL_RIGHTS
OWNER_GROUP_RIGHTS: Final = ALL_RIGHTS - Rights.of(Right.ADMINISTER)


def effective_rights(principal: Principal, owner: Owner, acl: Iterable[AclEntry]) -> Rights:
    """Implicit owner rights ∪ every entry naming one of the principal's identifiers.
    The role is deliberately NOT consulted (roles.py: no mail access from a role)."""
    held = NO_RIGHTS
    if owner.kind is OwnerKind.USER and owner.name.casefold() == principal.user.casefold():
        held = OWNER_RIGHTS
    elif owner.kind is OwnerKind.GROUP and owner.name.casefold() in {
            g.casefold() for g in principal.groups}:
        held = OWNER_GROUP_RIGHTS
    mine = principal.identifiers()
    for entry in acl:
        if entry.identifier in mine:
            held = held | entry.rights
    return held


def is_visible(rights: Rights) -> bool:
    """May the principal learn that the mailbox exists? Only with ``l`` (RFC 4314 §4, §6)."""
    return Right.LOOKUP in rights


class Operation(Enum):
    SELECT = "SELECT"
    EXAMINE = "EXAMINE"
    STATUS = "STATUS"
    LIST = "LIST"  # visibility of one name in LIST/LSUB/NAMESPACE-driven listings
    SUBSCRIBE = "SUBSCRIBE"
    UNSUBSCRIBE = "UNSUBSCRIBE"
    CREATE = "CREATE"
    DELETE = "DELETE"
    RENAME = "RENAME"
    APPEND = "APPEND"
    COPY = "COPY"
    MOVE = "MOVE"
    EXPUNGE = "EXPUNGE"
    STORE_SEEN = "STORE_SEEN"
    STORE_DELETED = "STORE_DELETED"
    STORE_OTHER = "STORE_OTHER"
    FETCH = "FETCH"
    SEARCH = "SEARCH"
    GETACL = "GETACL"
    SETACL = "SETACL"
    DELETEACL = "DELETEACL"
    LISTRIGHTS = "LISTRIGHTS"
    MYRIGHTS = "MYRIGHTS"
    GETQUOTAROOT = "GETQUOTAROOT"


class Target(Enum):
    MAILBOX = "mailbox"  # the named (or selected) mailbox; for COPY/MOVE the source
    DESTINATION = "destination"  # COPY/MOVE target
    PARENT = "parent"  # CREATE: the parent of the new name; RENAME: the new name's parent


_R = Right


def _req(*checks: tuple[Target, Rights]) -> tuple[tuple[Target, Rights], ...]:
    return checks


# What each operation needs, target by target (all listed rights on each target). MYRIGHTS is
# special: any one right at all (see ``decide``). RFC 4314 §4 and §6, as refined in the brief.
REQUIRED: Final[Mapping[Operation, tuple[tuple[Target, Rights], ...]]] = MappingProxyType({
    Operation.SELECT: _req((Target.MAILBOX, Rights.of(_R.READ))),
    Operation.EXAMINE: _req((Target.MAILBOX, Rights.of(_R.READ))),
    Operation.STATUS: _req((Target.MAILBOX, Rights.of(_R.READ))),
    Operation.LIST: _req((Target.MAILBOX, Rights.of(_R.LOOKUP))),
    Operation.SUBSCRIBE: _req((Target.MAILBOX, Rights.of(_R.LOOKUP))),
    Operation.UNSUBSCRIBE: _req(),  # removing one's own subscription needs nothing
    Operation.CREATE: _req((Target.PARENT, Rights.of(_R.CREATE))),
    Operation.DELETE: _req((Target.MAILBOX, Rights.of(_R.DELETE_MAILBOX))),
    Operation.RENAME: _req((Target.MAILBOX, Rights.of(_R.DELETE_MAILBOX)),
                           (Target.PARENT, Rights.of(_R.CREATE))),
    Operation.APPEND: _req((Target.MAILBOX, Rights.of(_R.INSERT))),
    Operation.COPY: _req((Target.MAILBOX, Rights.of(_R.READ)),
                         (Target.DESTINATION, Rights.of(_R.INSERT))),
    Operation.MOVE: _req((Target.MAILBOX, Rights.of(_R.READ, _R.DELETE_MESSAGE, _R.EXPUNGE)),
                         (Target.DESTINATION, Rights.of(_R.INSERT))),
    Operation.EXPUNGE: _req((Target.MAILBOX, Rights.of(_R.EXPUNGE))),
    Operation.STORE_SEEN: _req((Target.MAILBOX, Rights.of(_R.SEEN))),
    Operation.STORE_DELETED: _req((Target.MAILBOX, Rights.of(_R.DELETE_MESSAGE))),
    Operation.STORE_OTHER: _req((Target.MAILBOX, Rights.of(_R.WRITE))),
    Operation.FETCH: _req((Target.MAILBOX, Rights.of(_R.READ))),
    Operation.SEARCH: _req((Target.MAILBOX, Rights.of(_R.READ))),
    Operation.GETACL: _req((Target.MAILBOX, Rights.of(_R.ADMINISTER))),
    Operation.SETACL: _req((Target.MAILBOX, Rights.of(_R.ADMINISTER))),
    Operation.DELETEACL: _req((Target.MAILBOX, Rights.of(_R.ADMINISTER))),
    Operation.LISTRIGHTS: _req((Target.MAILBOX, Rights.of(_R.ADMINISTER))),
    Operation.MYRIGHTS: _req((Target.MAILBOX, NO_RIGHTS)),
    Operation.GETQUOTAROOT: _req((Target.MAILBOX, Rights.of(_R.READ))),
})


class Outcome(Enum):
    ALLOWED = "allowed"
    DENIED = "denied"  # NO [NOPERM]; audit it
    HIDDEN = "hidden"  # answer as for a mailbox that does not exist (NO [NONEXISTENT]/TRYCREATE)


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    target: Target | None = None  # the first target that failed
    missing: Rights = field(default=NO_RIGHTS)

    @property
    def is_allowed(self) -> bool:
        return self.outcome is Outcome.ALLOWED


_ALLOWED: Final = Decision(Outcome.ALLOWED)


def decide(operation: Operation, held: Mapping[Target, Rights]) -> Decision:
    """Check every target the operation touches, in table order. A target without ``l``
    whose check fails is HIDDEN (never confirm existence); otherwise DENIED. A target absent
    from ``held`` holds no rights. MYRIGHTS needs any right at all."""
    for target, needed in REQUIRED[operation]:
        have = held.get(target, NO_RIGHTS)
        if operation is Operation.MYRIGHTS:
            if not have:
                return Decision(Outcome.HIDDEN, target, ALL_RIGHTS)
            continue
        missing = needed - have
        if missing:
            hidden = target is not Target.PARENT and not is_visible(have)
            return Decision(Outcome.HIDDEN if hidden else Outcome.DENIED, target, missing)
    return _ALLOWED


def store_rights(flags: Iterable[str], *, is_replace: bool = False) -> frozenset[Operation]:
    """The STORE operations a flag list needs: \\Seen→STORE_SEEN, \\Deleted→STORE_DELETED,
    any other flag or keyword→STORE_OTHER. ``FLAGS`` (replace) may clear flags of every kind,
    so it needs all three."""
    if is_replace:
        return frozenset({Operation.STORE_SEEN, Operation.STORE_DELETED, Operation.STORE_OTHER})
    ops: set[Operation] = set()
    for flag in flags:
        f = canonical_flag(flag)
        if f == SEEN:
            ops.add(Operation.STORE_SEEN)
        elif f == DELETED:
            ops.add(Operation.STORE_DELETED)
        else:
            ops.add(Operation.STORE_OTHER)
    return frozenset(ops)


def permitted_flags(rights: Rights, flags: Iterable[str]) -> frozenset[str]:
    """The flags an APPEND/COPY may set given the rights on the destination (RFC 4314 §4:
    flags the user may not set are silently dropped, not refused)."""
    out: set[str] = set()
    for flag in flags:
        f = canonical_flag(flag)
        need = (_R.SEEN if f == SEEN else _R.DELETE_MESSAGE if f == DELETED else _R.WRITE)
        if need in rights:
            out.add(flag)
    return frozenset(out)


# RFC 4314 §5.2: a SELECT is READ-ONLY when none of "i", "e" and the shared-flag rights is
# held. Every flag is shared in Mailfort (one flag set per message, \Seen included), so the
# shared-flag rights are "s", "w" and "t".
STATE_CHANGING_RIGHTS: Final = Rights.of(_R.INSERT, _R.EXPUNGE, _R.SEEN, _R.WRITE,
                                         _R.DELETE_MESSAGE)


def is_read_write(rights: Rights) -> bool:
    """May a SELECT with these rights answer READ-WRITE? (RFC 4314 §5.2)"""
    return bool(rights & STATE_CHANGING_RIGHTS)


def permanent_flags(rights: Rights, flags: Iterable[str]) -> tuple[str, ...]:
    """The PERMANENTFLAGS a SELECT announces: of ``flags`` (the system flags, in order),
    those the user may change (\\Seen with ``s``, \\Deleted with ``t``, any other with
    ``w``), then ``\\*`` (new keywords) only with ``w`` (RFC 4314 §5.2: never list a flag
    the user cannot change)."""
    ordered = tuple(flags)
    allowed = permitted_flags(rights, ordered)
    out = [f for f in ordered if f in allowed]
    if _R.WRITE in rights:
        out.append("\\*")
    return tuple(out)
