"""The sans-I/O IMAP server connection (h11-style): bytes in, events out.

The driver feeds bytes with :meth:`ImapConnection.receive_data` (``b""`` = EOF), asks for
events with :meth:`next_event` until it returns None, carries each event out, and after each
batch sends :meth:`data_to_send` (bytes the core produced itself: literal continuations, BAD
replies, BYE). The core answers malformed input and wrong-state commands itself with fixed
texts and counts consecutive BADs; at ``max_bad_commands`` it says BYE and closes. After a
fatal error (or EOF) it refuses further input.

Pipelining works: several commands in one read come out one per :meth:`next_event`; bytes
are interpreted only when asked for, so nothing after STARTTLS is looked at before
:meth:`tls_started` throws it away.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from enum import Enum

from mailfort.config.model import LimitSettings
from mailfort.core.secret import Secret
from mailfort.imap import commands as c
from mailfort.imap import encoder
from mailfort.imap.codes import ResponseCode
from mailfort.imap.errors import BadReason, BadSyntax, Refused
from mailfort.imap.framing import (
    CommandFramed,
    CommandRejected,
    ContinuationRequired,
    Framer,
    RawCommand,
    RejectReason,
    StreamFatal,
)
from mailfort.imap.grammar.atoms import ParseContext
from mailfort.imap.grammar.parser import parse_command
from mailfort.imap.limits import ProtocolLimits
from mailfort.imap.state import TRANSITIONS, State, StateError, is_valid_in

__all__ = ["ImapConnection", "Event", "CommandReceived", "IdleDone", "SaslResponse",
           "SaslCancelled", "ConnectionClosed", "CONTINUE_LITERAL"]

CONTINUE_LITERAL = b"+ Ready for literal data\r\n"
_BYE_TOO_MANY = encoder.bye("Too many invalid commands")
_BYE_TOOBIG = encoder.bye("Input too large", ResponseCode.TOOBIG)


@dataclass(frozen=True, slots=True)
class CommandReceived:
    command: c.Command


@dataclass(frozen=True, slots=True)
class IdleDone:
    """The line after IDLE arrived. ``is_valid`` is False when it was not ``DONE``: the core
    has already answered the IDLE's tag with BAD, so the service ends IDLE without OK."""

    is_valid: bool = True


@dataclass(frozen=True, slots=True)
class SaslResponse:
    """A SASL continuation line, base64-decoded. ``data`` is None when it was not valid
    base64 (or too long): the service fails the AUTHENTICATE."""

    data: Secret[bytes] | None


@dataclass(frozen=True, slots=True)
class SaslCancelled:
    """The client answered a SASL challenge with ``*`` (RFC 9051 §6.2.2)."""


@dataclass(frozen=True, slots=True)
class ConnectionClosed:
    """No more input will be read: EOF, too many BADs, a fatal limit, or LOGOUT."""


Event = CommandReceived | IdleDone | SaslResponse | SaslCancelled | ConnectionClosed


class _Mode(Enum):
    COMMAND = 1
    IDLE = 2
    SASL = 3


_REJECT_TEXT = {
    RejectReason.LINE_TOO_LONG: BadReason.LINE_TOO_LONG.value,
    RejectReason.LITERAL_TOO_BIG: BadReason.LITERAL_TOO_BIG.value,
    RejectReason.MESSAGE_TOO_BIG: "Message too big",
}


class ImapConnection:
    """One client connection's protocol state. Not thread-safe; one per connection."""

    def __init__(self, limits: LimitSettings | ProtocolLimits | None = None) -> None:
        if limits is None:
            limits = ProtocolLimits()
        elif isinstance(limits, LimitSettings):
            limits = ProtocolLimits.from_settings(limits)
        self._limits = limits
        self._framer = Framer(limits)
        self._ctx = ParseContext(limits, utf8=False)
        self._out = bytearray()
        self._state = State.NOT_AUTHENTICATED
        self._mode = _Mode.COMMAND
        self._idle_tag = ""
        self._last_idle_tag = ""
        self._bad_count = 0
        self._bad_total = 0
        self._eof = False
        self._closed = False
        self._closed_reported = False

    # ---- properties ------------------------------------------------------------------
    @property
    def state(self) -> State:
        return self._state

    @property
    def is_closed(self) -> bool:
        return self._closed

    @property
    def is_utf8(self) -> bool:
        return self._ctx.utf8

    @property
    def bad_command_count(self) -> int:
        """BADs (and TOOBIG refusals) answered on this connection so far, for guard/audit."""
        return self._bad_total

    @property
    def buffered_bytes(self) -> int:
        return self._framer.buffered_bytes

    # ---- driver and service calls ----------------------------------------------------
    def receive_data(self, data: bytes) -> None:
        if self._closed or self._eof:
            return
        if data:
            self._framer.feed(data)
        else:
            self._eof = True

    def data_to_send(self) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        return out

    def set_state(self, state: State) -> None:
        if state not in TRANSITIONS[self._state]:
            raise StateError(f"{self._state.name} -> {state.name}")
        self._state = state
        self._framer.is_append_allowed = state in (State.AUTHENTICATED, State.SELECTED)
        if state is State.LOGOUT:
            self._closed = True
            self._closed_reported = True  # the service said BYE and closes itself

    def expect_idle_done(self, tag: str | None = None) -> None:
        """The next line must be DONE. ``tag`` defaults to the last IDLE received."""
        self._mode = _Mode.IDLE
        self._idle_tag = tag if tag is not None else self._last_idle_tag
        self._framer.expect_plain_line()

    def expect_sasl_response(self) -> None:
        self._mode = _Mode.SASL
        self._framer.expect_plain_line()

    def tls_started(self) -> None:
        """Drop every byte received before the TLS handshake (STARTTLS injection)."""
        self._framer.reset()
        self._mode = _Mode.COMMAND

    def enable_utf8(self) -> None:
        self._ctx = ParseContext(self._limits, utf8=True)

    # ---- events ----------------------------------------------------------------------
    def next_event(self) -> Event | None:
        """The next event, or None when more data is needed (or after ConnectionClosed was
        returned once)."""
        while not self._closed:
            frame = self._framer.next_frame()
            if frame is None:
                if self._eof:
                    self._closed = True
                    break
                return None
            if isinstance(frame, ContinuationRequired):
                self._out += CONTINUE_LITERAL
            elif isinstance(frame, StreamFatal):
                self._out += _BYE_TOOBIG
                self._closed = True
            elif isinstance(frame, CommandRejected):
                event = self._rejected(frame)
                if event is not None:
                    return event
            else:
                event = self._framed(frame)
                if event is not None:
                    return event
        if not self._closed_reported:
            self._closed_reported = True
            return ConnectionClosed()
        return None

    def _framed(self, frame: CommandFramed) -> Event | None:
        if self._mode is _Mode.IDLE:
            return self._idle_line(frame.raw)
        if self._mode is _Mode.SASL:
            return self._sasl_line(frame.raw)
        try:
            command = parse_command(frame.raw, self._ctx)
        except BadSyntax as exc:
            self._bad(exc.tag, exc.text)
            return None
        except Refused as exc:
            self._out += encoder.tagged(exc.tag, "NO", exc.text, exc.code, exc.code_data)
            return None
        if not is_valid_in(command, self._state):
            self._bad(command.tag, BadReason.WRONG_STATE.value)
            return None
        self._bad_count = 0
        if isinstance(command, c.Idle):
            self._last_idle_tag = command.tag
        return CommandReceived(command)

    def _rejected(self, frame: CommandRejected) -> Event | None:
        text = _REJECT_TEXT[frame.reason]
        if self._mode is _Mode.SASL:
            self._mode = _Mode.COMMAND
            return SaslResponse(None)
        if self._mode is _Mode.IDLE:
            self._mode = _Mode.COMMAND
            self._bad(self._idle_tag, text, ResponseCode.TOOBIG)
            return None if self._closed else IdleDone(is_valid=False)
        status = "NO" if frame.reason is RejectReason.MESSAGE_TOO_BIG else "BAD"
        self._bad(frame.tag, text, ResponseCode.TOOBIG, status)
        return None

    def _idle_line(self, raw: RawCommand) -> Event | None:
        self._mode = _Mode.COMMAND
        line = raw.parts[0] if raw.parts else b""
        if isinstance(line, bytes) and line.upper() == b"DONE":
            return IdleDone()
        self._bad(self._idle_tag, BadReason.EXPECTED_DONE.value)
        return None if self._closed else IdleDone(is_valid=False)

    def _sasl_line(self, raw: RawCommand) -> Event:
        self._mode = _Mode.COMMAND
        line = raw.parts[0] if raw.parts else b""
        if not isinstance(line, bytes):
            return SaslResponse(None)
        if line == b"*":
            return SaslCancelled()
        try:
            return SaslResponse(Secret(base64.b64decode(line, validate=True)))
        except (binascii.Error, ValueError):
            return SaslResponse(None)

    def _bad(self, tag: str | None, text: str, code: ResponseCode | None = None,
             status: str = "BAD") -> None:
        if tag:
            self._out += encoder.tagged(tag, status, text, code)
        else:
            self._out += encoder.untagged(status.encode("ascii") + b" "
                                          + encoder.code_text(code) + text.encode("ascii"))
        self._bad_count += 1
        self._bad_total += 1
        if self._bad_count >= self._limits.max_bad_commands:
            self._out += _BYE_TOO_MANY
            self._closed = True
