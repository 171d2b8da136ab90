"""SEARCH keys (RFC 9051 §6.4.4, RFC 3501 §6.4.4, RFC 7162 MODSEQ) → ``mail.search`` AST.

``search-key`` is recursive (NOT, OR, parenthesised lists); every level counts toward
``max_search_depth`` and every parenthesis toward ``max_paren_depth``, so hostile nesting ends
in a BAD and never in a ``RecursionError``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final

from mailfort.imap.errors import BadReason
from mailfort.imap.grammar.atoms import Reader
from mailfort.mail import flags as fl
from mailfort.mail import search as s

__all__ = ["parse_search_keys", "parse_search_key", "SEARCH_CHARSETS"]

SEARCH_CHARSETS: Final = frozenset({"UTF-8", "US-ASCII"})

_DATE_KEYS: Final = MappingProxyType({
    "BEFORE": (s.DateField.INTERNAL, s.DateOp.BEFORE),
    "ON": (s.DateField.INTERNAL, s.DateOp.ON),
    "SINCE": (s.DateField.INTERNAL, s.DateOp.SINCE),
    "SENTBEFORE": (s.DateField.SENT, s.DateOp.BEFORE),
    "SENTON": (s.DateField.SENT, s.DateOp.ON),
    "SENTSINCE": (s.DateField.SENT, s.DateOp.SINCE),
})
_FLAG_KEYS: Final = MappingProxyType({
    "ANSWERED": (fl.ANSWERED, True), "DELETED": (fl.DELETED, True),
    "DRAFT": (fl.DRAFT, True), "FLAGGED": (fl.FLAGGED, True), "SEEN": (fl.SEEN, True),
    "UNANSWERED": (fl.ANSWERED, False), "UNDELETED": (fl.DELETED, False),
    "UNDRAFT": (fl.DRAFT, False), "UNFLAGGED": (fl.FLAGGED, False),
    "UNSEEN": (fl.SEEN, False),
})
_HEADER_KEYS: Final = MappingProxyType({
    "FROM": "from", "TO": "to", "CC": "cc", "BCC": "bcc", "SUBJECT": "subject",
})
_SIMPLE: Final[Mapping[str, s.SearchKey]] = MappingProxyType({
    "ALL": s.All(), "NEW": s.New(), "OLD": s.Old(), "RECENT": s.Recent(),
})
_ENTRY_TYPES: Final = frozenset({"PRIV", "SHARED", "ALL"})


def parse_search_keys(r: Reader) -> s.SearchKey:
    """``search-key *(SP search-key)`` to the end of the command; several keys are AND-ed."""
    keys = [parse_search_key(r, 0, 0)]
    while not r.at_end():
        r.sp()
        keys.append(parse_search_key(r, 0, 0))
    return keys[0] if len(keys) == 1 else s.And(tuple(keys))


def _string(r: Reader) -> str:
    return r.text(r.astring())


def _keyword(r: Reader) -> str:
    flag = r.flag()
    if flag.startswith("\\"):
        r.fail(BadReason.INVALID_FLAG, "KEYWORD takes a flag-keyword")
    return flag


def parse_search_key(r: Reader, depth: int, parens: int) -> s.SearchKey:
    if depth >= r.ctx.limits.max_search_depth:
        r.fail(BadReason.TOO_COMPLEX, "search nesting")
    c = r.peek()
    if c == 0x28:  # "("
        if parens >= r.ctx.limits.max_paren_depth:
            r.fail(BadReason.TOO_COMPLEX, "parenthesis depth")
        r.pos += 1
        keys = [parse_search_key(r, depth + 1, parens + 1)]
        while not r.maybe(b")"):
            r.sp()
            keys.append(parse_search_key(r, depth + 1, parens + 1))
        return keys[0] if len(keys) == 1 else s.And(tuple(keys))
    if 0x30 <= c <= 0x39 or c in (0x2A, 0x24):  # digit, "*", "$"
        return s.InSet(r.sequence_set(), is_uid=False)
    name = r.keyword()
    simple = _SIMPLE.get(name)
    if simple is not None:
        return simple
    flag = _FLAG_KEYS.get(name)
    if flag is not None:
        return s.HasFlag(flag[0], flag[1])
    date = _DATE_KEYS.get(name)
    if date is not None:
        r.sp()
        return s.DateCompare(date[0], date[1], r.date())
    header = _HEADER_KEYS.get(name)
    if header is not None:
        r.sp()
        return s.Header(header, _string(r))
    handler = _HANDLERS.get(name)
    if handler is None:
        r.fail(BadReason.SYNTAX, "unknown search key")
    r.sp()
    return handler(r, depth, parens)


def _not(r: Reader, depth: int, parens: int) -> s.SearchKey:
    return s.Not(parse_search_key(r, depth + 1, parens))


def _or(r: Reader, depth: int, parens: int) -> s.SearchKey:
    left = parse_search_key(r, depth + 1, parens)
    r.sp()
    return s.Or(left, parse_search_key(r, depth + 1, parens))


def _modseq(r: Reader, depth: int, parens: int) -> s.SearchKey:
    if r.peek() == 0x22:  # entry-name SP entry-type-req SP (RFC 7162 §3.1.5)
        entry = r.quoted()
        if not entry.lower().startswith(b"/flags/"):
            r.fail(BadReason.SYNTAX, "bad MODSEQ entry name")
        r.sp()
        if r.keyword() not in _ENTRY_TYPES:
            r.fail(BadReason.SYNTAX, "bad MODSEQ entry type")
        r.sp()
    return s.ModSeqAtLeast(r.number64())


_HANDLERS: Final[Mapping[str, Callable[[Reader, int, int], s.SearchKey]]] = MappingProxyType({
    "NOT": _not,
    "OR": _or,
    "BODY": lambda r, d, p: s.Body(_string(r)),
    "TEXT": lambda r, d, p: s.Text(_string(r)),
    "HEADER": lambda r, d, p: _header(r),
    "KEYWORD": lambda r, d, p: s.HasFlag(_keyword(r), True),
    "UNKEYWORD": lambda r, d, p: s.HasFlag(_keyword(r), False),
    "LARGER": lambda r, d, p: s.SizeCompare(s.SizeOp.LARGER, r.number()),
    "SMALLER": lambda r, d, p: s.SizeCompare(s.SizeOp.SMALLER, r.number()),
    "UID": lambda r, d, p: s.InSet(r.sequence_set(), is_uid=True),
    "MODSEQ": _modseq,
})


def _header(r: Reader) -> s.SearchKey:
    name = r.astring()
    if not name or any(b < 0x21 or b > 0x7E or b == 0x3A for b in name):
        r.fail(BadReason.SYNTAX, "bad header field name")
    r.sp()
    return s.Header(name.decode("ascii").lower(), _string(r))
