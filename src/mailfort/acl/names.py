"""Safe mailbox names, the three namespaces, and a LIST pattern matcher linear in time.

Names use "/" as the one hierarchy delimiter everywhere (store, ACLs, wire after mUTF-7/UTF-8
decoding). A name is accepted only in Unicode NFC; two names equal after NFC are the same
name, so :func:`find_equivalent` lets CREATE/RENAME refuse the second spelling as a duplicate.

Namespaces (RFC 2342 as Mailfort answers NAMESPACE):

* personal: ``""`` -- the user's own mailboxes (``INBOX``, ``Projects/2024``)
* other users: ``"Other Users/"`` -- ``Other Users/bob/Projects`` is bob's ``Projects``;
  ``Other Users/bob`` alone is bob's INBOX
* shared: ``"Shared/"`` -- ``Shared/sales`` and its children, owned by a group

LIST patterns: ``*`` matches any run of characters, ``%`` any run without the delimiter.
:class:`ListPattern` simulates the pattern's automaton on a bit set, so one name costs
O(len(name)) big-int operations whatever the number of wildcards: no backtracking.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Final

from mailfort.store.errors import InvalidMailboxName

__all__ = ["DELIMITER", "OTHER_USERS_PREFIX", "SHARED_PREFIX", "MAX_NAME_CHARS",
           "MAX_LEVEL_CHARS", "MAX_DEPTH", "NameProblem", "validate_name", "name_problem",
           "is_reserved_personal_name", "find_equivalent", "parent_name", "Namespace",
           "MailboxPath", "resolve", "ListPattern", "ListMatch", "MAX_PATTERN_CHARS"]

DELIMITER: Final = "/"
OTHER_USERS_PREFIX: Final = "Other Users/"
SHARED_PREFIX: Final = "Shared/"
MAX_NAME_CHARS: Final = 512  # the whole name, in characters
MAX_LEVEL_CHARS: Final = 255  # one hierarchy level
MAX_DEPTH: Final = 16  # hierarchy levels
MAX_PATTERN_CHARS: Final = 1024


class NameProblem(Enum):
    """Why a name is refused (for logs and the CLI; the wire answer is one fixed text)."""

    EMPTY = "empty"
    TOO_LONG = "too long"
    LEVEL_TOO_LONG = "a level is too long"
    TOO_DEEP = "too many levels"
    CONTROL = "control or invisible format character"
    EMPTY_LEVEL = "empty level (leading, trailing or doubled delimiter)"
    DOT_LEVEL = "a level is '.' or '..'"
    WILDCARD = "contains a LIST wildcard (* or %)"
    NOT_NFC = "not in Unicode NFC"
    RESERVED = "inside a reserved namespace"


def _is_control(ch: str) -> bool:
    # Cc: C0, DEL, C1; Cf: bidi overrides, zero-width joiners and the like (spoofing);
    # Zl/Zp: line and paragraph separators; Cs: lone surrogates from bad decoding.
    return unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs")


def name_problem(name: str) -> NameProblem | None:
    """The first rule ``name`` breaks, or None. Checks are bounded before any O(n) work."""
    if not name:
        return NameProblem.EMPTY
    if len(name) > MAX_NAME_CHARS:
        return NameProblem.TOO_LONG
    if any(_is_control(ch) for ch in name):
        return NameProblem.CONTROL
    if "*" in name or "%" in name:
        return NameProblem.WILDCARD
    levels = name.split(DELIMITER)
    if len(levels) > MAX_DEPTH:
        return NameProblem.TOO_DEEP
    for level in levels:
        if not level:
            return NameProblem.EMPTY_LEVEL
        if level in (".", ".."):
            return NameProblem.DOT_LEVEL
        if len(level) > MAX_LEVEL_CHARS:
            return NameProblem.LEVEL_TOO_LONG
    if unicodedata.normalize("NFC", name) != name:
        return NameProblem.NOT_NFC
    return None


def _canonical_inbox(name: str) -> str:
    head, sep, rest = name.partition(DELIMITER)
    return "INBOX" + sep + rest if head.upper() == "INBOX" else name


def validate_name(name: str, *, normalize: bool = True) -> str:
    """The safe, canonical form of ``name``: NFC (when ``normalize``; else a non-NFC name is
    refused), ``INBOX`` in any case made canonical. Raises ``store.errors.InvalidMailboxName``
    with the problem's words (never the name: it is user data)."""
    if normalize and len(name) <= MAX_NAME_CHARS:
        name = unicodedata.normalize("NFC", name)
    problem = name_problem(name)
    if problem is not None:
        raise InvalidMailboxName(problem.value)
    return _canonical_inbox(name)


def is_reserved_personal_name(name: str) -> bool:
    """True when a personal mailbox may not have this name: it would shadow a namespace."""
    head = name.split(DELIMITER, 1)[0]
    return head in (OTHER_USERS_PREFIX.rstrip(DELIMITER), SHARED_PREFIX.rstrip(DELIMITER))


def find_equivalent(name: str, existing: Iterable[str]) -> str | None:
    """An existing name equal to ``name`` after NFC normalisation (and INBOX canonical
    case) but spelled differently -- CREATE/RENAME refuse such a duplicate. Exact equality is
    the store's MailboxExists."""
    key = _canonical_inbox(unicodedata.normalize("NFC", name))
    for other in existing:
        if other != name and _canonical_inbox(unicodedata.normalize("NFC", other)) == key:
            return other
    return None


def parent_name(name: str) -> str | None:
    """``"a/b/c"`` -> ``"a/b"``; a top-level name has no parent (None)."""
    head, sep, _ = name.rpartition(DELIMITER)
    return head if sep else None


class Namespace(Enum):
    PERSONAL = "personal"
    OTHER_USERS = "other"
    SHARED = "shared"


@dataclass(frozen=True, slots=True)
class MailboxPath:
    """A client-visible name resolved to where it lives.

    PERSONAL: ``owner`` is the session's user, ``local`` the name in their account.
    OTHER_USERS: ``owner`` is the other user's login name, ``local`` the name in their account.
    SHARED: ``owner`` is the shared mailbox's top name (``sales``), ``local`` the full name
    below ``Shared/`` (``sales/2024``).
    """

    namespace: Namespace
    owner: str
    local: str

    def visible_name(self) -> str:
        if self.namespace is Namespace.PERSONAL:
            return self.local
        if self.namespace is Namespace.SHARED:
            return SHARED_PREFIX + self.local
        if self.local == "INBOX":
            return OTHER_USERS_PREFIX + self.owner
        return OTHER_USERS_PREFIX + self.owner + DELIMITER + self.local


def resolve(name: str, user: str) -> MailboxPath:
    """Map a client-visible name (already decoded) to a MailboxPath. InvalidMailboxName for
    unsafe names and for the bare namespace roots (``Shared``, ``Other Users``)."""
    name = validate_name(name)
    if name.startswith(SHARED_PREFIX):
        local = name[len(SHARED_PREFIX):]
        return MailboxPath(Namespace.SHARED, local.split(DELIMITER, 1)[0], local)
    if name.startswith(OTHER_USERS_PREFIX):
        rest = name[len(OTHER_USERS_PREFIX):]
        owner, sep, local = rest.partition(DELIMITER)
        local = _canonical_inbox(local) if sep else "INBOX"
        return MailboxPath(Namespace.OTHER_USERS, owner, local)
    if is_reserved_personal_name(name):
        raise InvalidMailboxName(NameProblem.RESERVED.value)
    return MailboxPath(Namespace.PERSONAL, user, name)


# --------------------------------------------------------------------------- LIST matcher

@dataclass(frozen=True, slots=True)
class ListMatch:
    """``is_match``: the name matches. ``could_match_children``: some name below it (``name/…``)
    could match (never a false "no"; a false "yes" only for patterns that could match nothing
    but names with an empty level, e.g. ``a//b`` or ``a/``, which no mailbox has) -- what
    LIST needs for RECURSIVEMATCH / CHILDINFO and for showing a
    non-matching parent as ``\\Noselect`` / ``\\NonExistent`` when only children match."""

    is_match: bool
    could_match_children: bool


_STAR: Final = "*"
_PCT: Final = "%"


def _collapse(pattern: str) -> list[str]:
    """Tokens: one character each; runs of wildcards collapse (``**``→``*``, ``%%``→``%``,
    any run holding ``*``→``*``), so no two wildcards are adjacent."""
    tokens: list[str] = []
    for ch in pattern:
        if ch in (_STAR, _PCT) and tokens and tokens[-1] in (_STAR, _PCT):
            if ch == _STAR:
                tokens[-1] = _STAR
            continue
        tokens.append(ch)
    return tokens


@dataclass(frozen=True, slots=True)
class ListPattern:
    """A compiled LIST pattern (reference already joined). Build with :meth:`compile`.

    State ``i`` of the automaton means "tokens[:i] consumed"; the set of live states is an
    int bit set. Per character: literal advance ``(S & lit[ch]) << 1``, ``*`` self-loop,
    ``%`` self-loop unless the character is the delimiter, then one epsilon step over
    wildcards (enough, since wildcards are never adjacent after collapsing).
    """

    tokens: tuple[str, ...]
    literal_masks: tuple[tuple[str, int], ...]
    star_mask: int
    pct_mask: int
    wild_mask: int
    accept_bit: int

    @classmethod
    def compile(cls, pattern: str, *, inbox_case_insensitive: bool = True) -> ListPattern:
        if len(pattern) > MAX_PATTERN_CHARS:
            raise InvalidMailboxName("pattern too long")
        if inbox_case_insensitive:
            head = pattern[:5]
            if head.upper() == "INBOX" and (len(pattern) == 5 or pattern[5] in "/*%"):
                pattern = "INBOX" + pattern[5:]
        tokens = _collapse(pattern)
        lits: dict[str, int] = {}
        star = pct = 0
        for i, tok in enumerate(tokens):
            bit = 1 << i
            if tok == _STAR:
                star |= bit
            elif tok == _PCT:
                pct |= bit
            else:
                lits[tok] = lits.get(tok, 0) | bit
        return cls(tuple(tokens), tuple(sorted(lits.items())), star, pct, star | pct,
                   1 << len(tokens))

    def _closure(self, states: int) -> int:
        return states | ((states & self.wild_mask) << 1)

    def _run(self, name: str, lits: dict[str, int]) -> tuple[int, int]:
        """(live states after ``name``, steps taken: one per character, plus one)."""
        states = self._closure(1)
        steps = 1
        for ch in name:
            steps += 1
            nxt = (states & lits.get(ch, 0)) << 1
            nxt |= states & self.star_mask
            if ch != DELIMITER:
                nxt |= states & self.pct_mask
            states = self._closure(nxt)
            if not states:
                break
        return states, steps

    def match_counting(self, name: str) -> tuple[ListMatch, int]:
        """:meth:`match` and the number of automaton steps it took (for linearity tests)."""
        lits = dict(self.literal_masks)
        states, steps = self._run(name, lits)
        is_match = bool(states & self.accept_bit)
        children = 0
        if states:
            steps += 1
            nxt = (states & lits.get(DELIMITER, 0)) << 1
            nxt |= states & self.star_mask
            children = self._closure(nxt)
        # Any live state can still reach acceptance: remaining tokens are literals (which
        # a suffix can spell) and wildcards (which match the empty string).
        return ListMatch(is_match, bool(children)), steps

    def match(self, name: str) -> ListMatch:
        return self.match_counting(name)[0]

    def matches(self, name: str) -> bool:
        return self.match_counting(name)[0].is_match
