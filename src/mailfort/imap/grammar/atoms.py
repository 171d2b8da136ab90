"""Lexical layer of the command grammar (RFC 9051 §9): character classes, the :class:`Reader`
cursor over a framed command, and the small productions every command uses (atom, astring,
string, number, sequence-set, flag, date, mailbox).

``ATOM-CHAR = <any CHAR except atom-specials>``,
``atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards / quoted-specials / resp-specials``,
``ASTRING-CHAR = ATOM-CHAR / resp-specials``, ``tag = 1*<any ASTRING-CHAR except "+">``,
``list-char = ATOM-CHAR / list-wildcards / resp-specials``.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, NoReturn

from mailfort.imap.errors import BadReason, BadSyntax
from mailfort.imap.grammar.modutf7 import InvalidMutf7, decode_mutf7, encode_mutf7
from mailfort.imap.limits import MAX_NUMBER, MAX_NUMBER64, MAX_TAG_BYTES, ProtocolLimits
from mailfort.mail.flags import canonical_flag
from mailfort.mail.uidset import SeqRange, SequenceSet

if TYPE_CHECKING:
    from mailfort.imap.framing import Literal, RawCommand

__all__ = ["ATOM_CHARS", "ASTRING_CHARS", "TAG_CHARS", "LIST_CHARS", "tag_of", "is_atom",
           "ParseContext", "Reader", "decode_mailbox", "normalise_inbox", "MONTHS"]


def _char_class(chars: frozenset[int]) -> bytes:
    return b"[" + b"".join(re.escape(bytes([c])) for c in sorted(chars)) + b"]"


ATOM_CHARS: Final = frozenset(range(0x21, 0x7F)) - frozenset(b'(){%*"\\]')
ASTRING_CHARS: Final = ATOM_CHARS | frozenset(b"]")
TAG_CHARS: Final = ASTRING_CHARS - frozenset(b"+")
LIST_CHARS: Final = ATOM_CHARS | frozenset(b"%*]")

_ATOM: Final = re.compile(_char_class(ATOM_CHARS) + b"+")
_ASTRING: Final = re.compile(_char_class(ASTRING_CHARS) + b"+")
_TAG: Final = re.compile(_char_class(TAG_CHARS) + b"+")
_LIST: Final = re.compile(_char_class(LIST_CHARS) + b"+")
_QUOTED: Final = re.compile(rb'"((?:[^"\\\r\n\x00]|\\["\\])*)"')
_UNESCAPE: Final = re.compile(rb'\\(["\\])')
_PLAIN_NAME: Final = re.compile(rb"[\x20-\x25\x27-\x7e]*")
_DIGITS: Final = re.compile(rb"[0-9]+")
_SEQ_ITEM: Final = rb"(?:[0-9]+|\*)(?::(?:[0-9]+|\*))?"
_SEQ_SET: Final = re.compile(_SEQ_ITEM + rb"(?:," + _SEQ_ITEM + rb")*")
_DATE: Final = re.compile(rb"([0-9]{1,2})-([A-Za-z]{3})-([0-9]{4})")
_DATE_TIME: Final = re.compile(
    rb'"([ 0-9]?[0-9])-([A-Za-z]{3})-([0-9]{4}) '
    rb'([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{2})([0-9]{2})"')

MONTHS: Final = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV",
                 "DEC")
_MONTH_NUMBER: Final = {m.encode("ascii"): i + 1 for i, m in enumerate(MONTHS)}


def tag_of(line: bytes, *, is_complete: bool = True) -> str | None:
    """The tag at the start of a command line when it is a valid ``tag`` followed by SP (or
    by the end of a complete line); else None. Safe to echo: only TAG chars."""
    m = _TAG.match(line, 0, MAX_TAG_BYTES + 1)
    if m is None or m.end() > MAX_TAG_BYTES:
        return None
    if m.end() < len(line) and line[m.end()] != 0x20 or (m.end() == len(line)
                                                           and not is_complete):
        return None
    return m.group().decode("ascii")


def is_atom(data: bytes) -> bool:
    return _ATOM.fullmatch(data) is not None


def normalise_inbox(name: str) -> str:
    """``INBOX`` in any case is ``INBOX``; so is the ``INBOX/`` prefix of a child."""
    if len(name) >= 5 and name[:5].upper() == "INBOX" and (len(name) == 5 or name[5] == "/"):
        return "INBOX" + name[5:]
    return name


def decode_mailbox(raw: bytes, *, utf8: bool) -> str:
    """Wire bytes of a mailbox name (or LIST pattern) to ``str``. Modified UTF-7 must be
    canonical (``encode(decode(x)) == x``, so two wire names never alias one mailbox);
    after ENABLE UTF8=ACCEPT the bytes are UTF-8. Control characters are never allowed.
    Raises ValueError."""
    if _PLAIN_NAME.fullmatch(raw) is not None:  # fast path: printable ASCII, no "&"
        return normalise_inbox(raw.decode("ascii"))
    if utf8:
        name = raw.decode("utf-8")  # UnicodeDecodeError is a ValueError
    else:
        try:
            name = decode_mutf7(raw)
        except InvalidMutf7 as exc:
            raise ValueError(str(exc)) from exc
        if encode_mutf7(name) != raw:
            raise ValueError("non-canonical modified UTF-7")
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in name):
        raise ValueError("control character in mailbox name")
    return normalise_inbox(name)


@dataclass(frozen=True, slots=True)
class ParseContext:
    """What parsing depends on besides the bytes: the limits, and UTF8=ACCEPT."""

    limits: ProtocolLimits = field(default_factory=ProtocolLimits)
    utf8: bool = False


class Reader:
    """A cursor over a :class:`RawCommand`: text chunks alternating with literals. A literal
    sits where its chunk ends; it is read by :meth:`literal` (and so by :meth:`string`)."""

    __slots__ = ("_parts", "_i", "chunk", "pos", "tag", "ctx")

    def __init__(self, raw: RawCommand, ctx: ParseContext) -> None:
        self._parts = raw.parts
        self._i = 0
        first = raw.parts[0] if raw.parts else b""
        self.chunk: bytes = first if isinstance(first, bytes) else b""
        self.pos = 0
        self.tag: str | None = None
        self.ctx = ctx

    # ---- errors ----------------------------------------------------------------------
    def fail(self, reason: BadReason = BadReason.SYNTAX, detail: str = "") -> NoReturn:
        raise BadSyntax(self.tag, reason, f"{detail} at part {self._i} offset {self.pos}")

    # ---- position --------------------------------------------------------------------
    def at_end(self) -> bool:
        return self.pos >= len(self.chunk) and self._i >= len(self._parts) - 1

    def at_literal(self) -> bool:
        return self.pos >= len(self.chunk) and self._i < len(self._parts) - 1

    def peek(self) -> int:
        """The next byte of the current chunk, or -1 at its end (end of command or literal)."""
        return self.chunk[self.pos] if self.pos < len(self.chunk) else -1

    def end(self) -> None:
        if not self.at_end():
            self.fail(BadReason.SYNTAX, "trailing data")

    def sp(self) -> None:
        if self.peek() != 0x20:
            self.fail(BadReason.SYNTAX, "expected SP")
        self.pos += 1

    def maybe(self, text: bytes) -> bool:
        """Consume ``text`` (exact bytes) if it is next."""
        if self.chunk.startswith(text, self.pos):
            self.pos += len(text)
            return True
        return False

    def expect(self, text: bytes) -> None:
        if not self.maybe(text):
            self.fail(BadReason.SYNTAX, f"expected {text!r}")

    def _match(self, regex: re.Pattern[bytes]) -> bytes | None:
        m = regex.match(self.chunk, self.pos)
        if m is None:
            return None
        self.pos = m.end()
        return m.group()

    # ---- atoms and strings -----------------------------------------------------------
    def atom(self) -> bytes:
        value = self._match(_ATOM)
        if value is None:
            self.fail(BadReason.SYNTAX, "expected atom")
        return value

    def keyword(self) -> str:
        """An atom, upper-cased (command names, options, search keys)."""
        return self.atom().decode("ascii").upper()

    def peek_keyword(self) -> str | None:
        m = _ATOM.match(self.chunk, self.pos)
        return m.group().decode("ascii").upper() if m is not None else None

    def literal(self) -> Literal:
        if not self.at_literal():
            self.fail(BadReason.SYNTAX, "expected literal")
        lit = self._parts[self._i + 1]
        nxt = self._parts[self._i + 2] if self._i + 2 < len(self._parts) else b""
        if isinstance(lit, bytes) or not isinstance(nxt, bytes):
            self.fail(BadReason.SYNTAX, "malformed command parts")
        self._i += 2
        self.chunk = nxt
        self.pos = 0
        return lit

    def quoted(self) -> bytes:
        m = _QUOTED.match(self.chunk, self.pos)
        if m is None:
            self.fail(BadReason.INVALID_STRING, "bad quoted string")
        self.pos = m.end()
        inner = m.group(1)
        return _UNESCAPE.sub(rb"\1", inner) if b"\\" in inner else inner

    def string(self) -> bytes:
        """``string = quoted / literal`` (``literal8`` is not a string)."""
        if self.peek() == 0x22:
            return self.quoted()
        if self.at_literal():
            lit = self.literal()
            if lit.is_binary or b"\x00" in lit.data:
                self.fail(BadReason.INVALID_STRING, "NUL or literal8 in a string")
            return lit.data
        self.fail(BadReason.INVALID_STRING, "expected string")

    def astring(self) -> bytes:
        value = self._match(_ASTRING)
        return value if value is not None else self.string()

    def nstring(self) -> bytes | None:
        if self.chunk[self.pos : self.pos + 3].upper() == b"NIL":
            end = self.pos + 3
            if end == len(self.chunk) or self.chunk[end] in b" )":
                self.pos = end
                return None
        return self.string()

    def list_mailbox(self) -> bytes:
        value = self._match(_LIST)
        return value if value is not None else self.string()

    def text(self, raw: bytes, reason: BadReason = BadReason.INVALID_STRING) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            self.fail(reason, "invalid UTF-8")

    def mailbox(self) -> str:
        return self.mailbox_from(self.astring())

    def mailbox_from(self, raw: bytes) -> str:
        try:
            return decode_mailbox(raw, utf8=self.ctx.utf8)
        except ValueError as exc:
            self.fail(BadReason.INVALID_MAILBOX, str(exc))

    # ---- numbers ---------------------------------------------------------------------
    def number(self, maximum: int = MAX_NUMBER) -> int:
        digits = self._match(_DIGITS)
        if digits is None or len(digits) > 20:
            self.fail(BadReason.INVALID_NUMBER, "expected number")
        value = int(digits)
        if value > maximum:
            self.fail(BadReason.INVALID_NUMBER, "number out of range")
        return value

    def nz_number(self, maximum: int = MAX_NUMBER) -> int:
        if self.peek() == 0x30:
            self.fail(BadReason.INVALID_NUMBER, "nz-number starts with 0")
        return self.number(maximum)

    def number64(self) -> int:
        return self.number(MAX_NUMBER64)

    def sequence_set(self) -> SequenceSet:
        """``sequence-set`` or ``$`` (RFC 5182). ``*`` is ``None``."""
        if self.peek() == 0x24:  # "$"
            self.pos += 1
            return SequenceSet.saved()
        m = _SEQ_SET.match(self.chunk, self.pos)
        if m is None:
            self.fail(BadReason.INVALID_SEQUENCE_SET, "expected sequence set")
        if self.chunk.count(b",", m.start(), m.end()) >= self.ctx.limits.max_sequence_ranges:
            self.fail(BadReason.TOO_COMPLEX, "too many ranges")
        self.pos = m.end()
        ranges: list[SeqRange] = []
        for item in m.group().split(b","):
            first, _, last = item.partition(b":")
            a = self._seq_number(first)
            ranges.append(SeqRange(a, self._seq_number(last) if last else a))
        return SequenceSet(tuple(ranges))

    def _seq_number(self, raw: bytes) -> int | None:
        if raw == b"*":
            return None
        if raw[0] == 0x30 or len(raw) > 10 or int(raw) > MAX_NUMBER:
            self.fail(BadReason.INVALID_SEQUENCE_SET, "bad seq-number")
        return int(raw)

    # ---- flags -----------------------------------------------------------------------
    def flag(self) -> str:
        """``flag = "\\" atom / atom`` (system flags in canonical case). ``\\*`` is not a
        flag a client may send; it fails as a syntax error."""
        is_system = self.maybe(b"\\")
        value = self._match(_ATOM)
        if value is None:
            self.fail(BadReason.INVALID_FLAG, "bad flag")
        text = value.decode("ascii")
        return canonical_flag("\\" + text) if is_system else text

    def flag_list(self) -> tuple[str, ...]:
        """``flag-list = "(" [flag *(SP flag)] ")"``"""
        self.expect(b"(")
        flags: list[str] = []
        if not self.maybe(b")"):
            flags.append(self.flag())
            while not self.maybe(b")"):
                self.sp()
                flags.append(self.flag())
        return tuple(flags)

    # ---- dates -----------------------------------------------------------------------
    def date(self) -> dt.date:
        """``date = date-text / DQUOTE date-text DQUOTE``"""
        quoted = self.maybe(b'"')
        m = _DATE.match(self.chunk, self.pos)
        if m is None:
            self.fail(BadReason.INVALID_DATE, "bad date")
        self.pos = m.end()
        if quoted:
            self.expect(b'"')
        month = _MONTH_NUMBER.get(m.group(2).upper())
        try:
            if month is None:
                raise ValueError("bad month")
            return dt.date(int(m.group(3)), month, int(m.group(1)))
        except ValueError:
            self.fail(BadReason.INVALID_DATE, "bad date")

    def date_time(self) -> dt.datetime:
        """``date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone
        DQUOTE``; returned timezone-aware."""
        m = _DATE_TIME.match(self.chunk, self.pos)
        if m is None:
            self.fail(BadReason.INVALID_DATE, "bad date-time")
        self.pos = m.end()
        day, mon, year, hh, mm, ss, sign, zh, zm = m.groups()
        month = _MONTH_NUMBER.get(mon.upper())
        try:
            if month is None or int(zm) > 59:
                raise ValueError("bad month or zone")
            offset = dt.timedelta(hours=int(zh), minutes=int(zm))
            tz = dt.timezone(-offset if sign == b"-" else offset)
            return dt.datetime(int(year), month, int(day.strip() or b"0"), int(hh), int(mm),
                               int(ss), tzinfo=tz)
        except ValueError:
            self.fail(BadReason.INVALID_DATE, "bad date-time")
