"""Incremental framing of the client byte stream into commands (line text plus literals).

Sans-I/O: :meth:`Framer.feed` only appends bytes; all work happens lazily in
:meth:`Framer.next_frame`, so a driver that stops asking (while a command runs, or before
STARTTLS) never has later bytes interpreted early. Every limit is checked before bytes are kept:

* line text of one command (literals excluded) is capped at ``max_line_bytes``;
* a literal ``{n}`` / ``{n+}`` / ``~{n}`` is judged when its header arrives, against
  ``max_message_bytes`` for APPEND (when APPEND is allowed in the current state) or
  ``max_literal_bytes`` otherwise, and against the per-command total. Memory never grows with
  a claimed-but-unsent size: literal bytes are kept only as they arrive, for accepted literals.

Rejections: a synchronising literal that is too big is refused at once (no continuation is
asked for, the command ends). A too-big LITERAL+ body is skipped without buffering (RFC 7888
§4 lets the server choose BAD-and-skip or BYE) when it is at most ``max_skip_bytes``, and ends
the connection otherwise. An over-long line is rejected at once and the rest of it discarded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import Final

from mailfort.imap.grammar.atoms import tag_of
from mailfort.imap.limits import MAX_LITERAL_DIGITS, ProtocolLimits

__all__ = ["Literal", "RawCommand", "CommandFramed", "ContinuationRequired", "CommandRejected",
           "StreamFatal", "RejectReason", "Frame", "Framer", "literal_header", "redacted"]

_LITERAL_HEADER: Final = re.compile(rb"(~?)\{([0-9]+)(\+?)\}\Z")
_VERB: Final = re.compile(rb"[^ ]+ ([A-Za-z]+)(?: |\Z)")
_MASKED_VERBS: Final = MappingProxyType({b"LOGIN": 0, b"AUTHENTICATE": 1})
_TAIL_KEEP: Final = 64  # bytes of a discarded line kept to spot a trailing literal header
_COMPACT_AT: Final = 64 * 1024


@dataclass(frozen=True, slots=True)
class Literal:
    """A literal's bytes; ``is_binary`` for ``literal8`` (``~{n}``, RFC 3516)."""

    data: bytes
    is_binary: bool = False


@dataclass(frozen=True, slots=True)
class RawCommand:
    """One complete command: line text chunks (CRLF and literal headers removed) alternating
    with literals, always starting and ending with a text chunk (possibly empty)."""

    parts: tuple[bytes | Literal, ...]


class RejectReason(Enum):
    LINE_TOO_LONG = "line too long"
    LITERAL_TOO_BIG = "literal too big"
    MESSAGE_TOO_BIG = "message too big"  # an APPEND literal over max_message_bytes


@dataclass(frozen=True, slots=True)
class CommandFramed:
    raw: RawCommand


@dataclass(frozen=True, slots=True)
class ContinuationRequired:
    """A synchronising literal was accepted: send ``+`` so the client sends it."""


@dataclass(frozen=True, slots=True)
class CommandRejected:
    """A limit refused the command being framed; its remaining bytes are discarded."""

    tag: str | None
    reason: RejectReason


@dataclass(frozen=True, slots=True)
class StreamFatal:
    """The stream cannot be resynchronised; the connection must close."""

    reason: RejectReason


Frame = CommandFramed | ContinuationRequired | CommandRejected | StreamFatal


class _Mode(Enum):
    LINE = 1
    LITERAL = 2
    SKIP = 3
    DISCARD = 4
    DEAD = 5


def literal_header(chunk: bytes) -> tuple[int, bool, bool, int] | None:
    """If ``chunk`` (a line without CRLF) ends in a literal header, return
    ``(size, is_non_sync, is_binary, start_index)``. An absurdly long size gives -1."""
    if not chunk.endswith(b"}"):
        return None
    brace = chunk.rfind(b"{")
    if brace < 0:
        return None
    start = brace - 1 if brace > 0 and chunk[brace - 1] == 0x7E else brace
    m = _LITERAL_HEADER.match(chunk, start)
    if m is None:
        return None
    digits = m.group(2)
    size = int(digits) if len(digits) <= MAX_LITERAL_DIGITS else -1
    return size, bool(m.group(3)), bool(m.group(1)), start


def redacted(raw: RawCommand) -> bytes:
    """The command as a wire trace may show it: literals as ``{n}`` (their bytes never), and
    the credentials of LOGIN / AUTHENTICATE masked by structure (the verb and its argument
    count), not by pattern matching."""
    text = b"".join(p if isinstance(p, bytes) else b"{%d}" % len(p.data) for p in raw.parts)
    words = text.split(b" ", 3)
    keep = _MASKED_VERBS.get(words[1].upper()) if len(words) > 1 else None
    if keep is None:
        return text
    shown = words[: 2 + keep]
    return b" ".join(shown) + (b" ***" if len(words) > len(shown) else b"")


class Framer:
    """Splits the stream into :data:`Frame` values. ``is_append_allowed`` is set by the
    connection from its state: only then may APPEND literals reach ``max_message_bytes``."""

    __slots__ = ("_limits", "_buf", "_pos", "_mode", "_parts", "_line_bytes", "_lit_total",
                 "_lit", "_lit_need", "_lit_total_held", "_lit_binary", "_tail", "_discarded",
                 "_plain", "_scanned", "is_append_allowed")

    def __init__(self, limits: ProtocolLimits) -> None:
        self._limits = limits
        self._buf = bytearray()
        self._pos = 0
        self._mode = _Mode.LINE
        self._parts: list[bytes | Literal] = []
        self._line_bytes = 0
        self._lit_total = 0
        self._lit_total_held = 0
        self._lit = bytearray()
        self._lit_need = 0
        self._lit_binary = False
        self._tail = b""
        self._discarded = 0
        self._plain = False
        self._scanned = 0  # bytes after _pos already known to hold no LF
        self.is_append_allowed = False

    # ---- input -----------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        if self._mode is not _Mode.DEAD:
            self._buf += data

    def reset(self) -> None:
        """Forget every buffered byte and any half-framed command (after STARTTLS)."""
        self._buf = bytearray()
        self._pos = 0
        self._scanned = 0
        self._plain = False
        self._new_command()
        if self._mode is not _Mode.DEAD:
            self._mode = _Mode.LINE

    def expect_plain_line(self) -> None:
        """The next unit is a bare line (IDLE's DONE, a SASL response): no literals."""
        self._plain = True

    @property
    def buffered_bytes(self) -> int:
        """Bytes held: unread input plus the command framed so far (for tests and metrics)."""
        return len(self._buf) - self._pos + self._line_bytes + self._lit_total_held + len(
            self._lit)

    # ---- framing ---------------------------------------------------------------------
    def next_frame(self) -> Frame | None:
        """The next frame, or None when more input is needed."""
        while True:
            mode, pos = self._mode, self._pos
            if mode is _Mode.DEAD:
                return None
            if mode is _Mode.LINE:
                frame = self._read_line()
            elif mode is _Mode.LITERAL:
                frame = self._read_literal()
            elif mode is _Mode.SKIP:
                frame = self._skip()
            else:
                frame = self._discard()
            if frame is not None:
                return frame
            if self._mode is mode and self._pos == pos:
                self._compact()
                return None

    def _compact(self) -> None:
        if self._pos >= len(self._buf):
            self._buf.clear()
            self._pos = 0
        elif self._pos >= _COMPACT_AT:
            del self._buf[: self._pos]
            self._pos = 0

    def _new_command(self) -> None:
        self._parts = []
        self._line_bytes = 0
        self._lit_total = 0
        self._lit_total_held = 0
        self._lit = bytearray()
        self._lit_need = 0
        self._tail = b""
        self._discarded = 0

    def _tag(self, fallback: bytes = b"") -> str | None:
        first = self._parts[0] if self._parts else fallback
        return tag_of(first, is_complete=False) if isinstance(first, bytes) else None

    def _read_line(self) -> Frame | None:
        buf, pos = self._buf, self._pos
        nl = buf.find(b"\n", pos + self._scanned)
        budget = self._limits.max_line_bytes - self._line_bytes
        if nl < 0:
            self._scanned = len(buf) - pos  # a line dribbled in is scanned once, not per read
            if len(buf) - pos > budget:
                self._scanned = 0
                tag = self._tag(bytes(buf[pos : pos + 256]))
                self._discarded = len(buf) - pos
                self._tail = bytes(buf[max(pos, len(buf) - _TAIL_KEEP) :])
                self._pos = len(buf)
                self._mode = _Mode.DISCARD
                return CommandRejected(tag, RejectReason.LINE_TOO_LONG)
            return None
        end = nl - 1 if nl > pos and buf[nl - 1] == 0x0D else nl
        chunk = bytes(buf[pos:end])
        self._pos = nl + 1
        self._scanned = 0
        if len(chunk) > budget:
            tag = self._tag(chunk[:256])
            self._tail = chunk[-_TAIL_KEEP:]
            frame: Frame = CommandRejected(tag, RejectReason.LINE_TOO_LONG)
            after = self._after_discarded_line()
            return after if isinstance(after, StreamFatal) else frame
        self._line_bytes += len(chunk)
        if self._plain:
            self._plain = False
            self._new_command()
            return CommandFramed(RawCommand((chunk,)))
        header = literal_header(chunk)
        if header is None:
            self._parts.append(chunk)
            raw = RawCommand(tuple(self._parts))
            self._new_command()
            return CommandFramed(raw)
        size, non_sync, binary, start = header
        self._parts.append(chunk[:start])
        per_literal, total, is_append = self._literal_budget()
        if size < 0 or size > per_literal or self._lit_total + size > total:
            tag = self._tag()
            reason = RejectReason.MESSAGE_TOO_BIG if is_append else RejectReason.LITERAL_TOO_BIG
            if not non_sync:
                self._new_command()
                return CommandRejected(tag, reason)
            if size < 0 or size > self._limits.max_skip_bytes:
                self._die()
                return StreamFatal(reason)
            self._lit_need = size
            self._mode = _Mode.SKIP
            return CommandRejected(tag, reason)
        self._lit_total += size
        self._lit_need = size
        self._lit_binary = binary
        self._lit = bytearray()
        self._mode = _Mode.LITERAL
        return None if non_sync else ContinuationRequired()

    def _literal_budget(self) -> tuple[int, int, bool]:
        first = self._parts[0] if self._parts else b""
        assert isinstance(first, bytes)
        m = _VERB.match(first)
        if m is not None and self.is_append_allowed and m.group(1).upper() == b"APPEND":
            return self._limits.max_message_bytes, self._limits.max_message_bytes, True
        return self._limits.max_literal_bytes, self._limits.max_command_literal_bytes, False

    def _read_literal(self) -> Frame | None:
        take = min(self._lit_need, len(self._buf) - self._pos)
        if take:
            self._lit += self._buf[self._pos : self._pos + take]
            self._pos += take
            self._lit_need -= take
        if self._lit_need == 0:
            self._parts.append(Literal(bytes(self._lit), self._lit_binary))
            self._lit_total_held += len(self._lit)
            self._lit = bytearray()
            self._mode = _Mode.LINE
        return None

    def _skip(self) -> Frame | None:
        take = min(self._lit_need, len(self._buf) - self._pos)
        self._pos += take
        self._lit_need -= take
        if self._lit_need == 0:
            self._mode = _Mode.DISCARD
            self._tail = b""
            self._discarded = 0
        return None

    def _discard(self) -> Frame | None:
        buf, pos = self._buf, self._pos
        nl = buf.find(b"\n", pos)
        if nl < 0:
            self._discarded += len(buf) - pos
            self._tail = (self._tail + bytes(buf[max(pos, len(buf) - _TAIL_KEEP) :]))[
                -_TAIL_KEEP:]
            self._pos = len(buf)
            return self._check_discard_budget()
        self._discarded += nl - pos
        end = nl - 1 if nl > pos and buf[nl - 1] == 0x0D else nl
        self._tail = (self._tail + bytes(buf[max(pos, end - _TAIL_KEEP) : end]))[-_TAIL_KEEP:]
        if nl == pos and self._tail.endswith(b"\r"):  # CR arrived before the LF
            self._tail = self._tail[:-1]
        self._pos = nl + 1
        fatal = self._check_discard_budget()
        return fatal if fatal is not None else self._after_discarded_line()

    def _check_discard_budget(self) -> StreamFatal | None:
        if self._discarded > self._limits.max_discard_bytes:
            self._die()
            return StreamFatal(RejectReason.LINE_TOO_LONG)
        return None

    def _after_discarded_line(self) -> StreamFatal | None:
        """A discarded line ended: a trailing LITERAL+ header means its body follows and must
        be skipped too, or it would be read as a command (CRLF injection)."""
        header = literal_header(self._tail)
        if header is not None and header[1]:
            size = header[0]
            if size < 0 or size > self._limits.max_skip_bytes:
                self._die()
                return StreamFatal(RejectReason.LITERAL_TOO_BIG)
            self._lit_need = size
            self._mode = _Mode.SKIP
            return None
        self._new_command()
        self._mode = _Mode.LINE
        return None

    def _die(self) -> None:
        self._mode = _Mode.DEAD
        self._buf = bytearray()
        self._pos = 0
        self._scanned = 0
        self._new_command()
