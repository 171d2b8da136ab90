"""A sans-I/O, client-side parser of IMAP server responses (RFC 9051 §7, RFC 3501 §7).

The scanner (and any other client in the project) feeds it the bytes a server sends and takes
complete responses out::

    parser = ResponseParser(expect_greeting=True)
    parser.receive_data(chunk)
    while (response := parser.next_response()) is not None:
        ...

It understands the greeting (``* OK``/``* PREAUTH``/``* BYE``), untagged status and data
responses (with a generic value tree so CAPABILITY, ID, LIST, NAMESPACE ... can be read),
continuation requests, tagged completions with response codes, and literals ``{n}`` anywhere in
a line. Every size is bounded before it is buffered. There is no I/O, clock or logging here.

Values in :attr:`Untagged.values` are: ``str`` for atoms and numbers (as written), ``bytes`` for
quoted strings and literals, ``None`` for NIL, and ``tuple`` for parenthesised lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

__all__ = [
    "Continuation",
    "Greeting",
    "ResponseCodeData",
    "ResponseParser",
    "ResponseSyntaxError",
    "ResponseTooLarge",
    "ServerResponse",
    "Status",
    "Tagged",
    "Untagged",
    "Value",
    "capabilities_in",
    "id_fields",
]

Value = str | bytes | None | tuple["Value", ...]

DEFAULT_MAX_LINE_BYTES: Final = 64 * 1024
DEFAULT_MAX_LITERAL_BYTES: Final = 4 * 1024 * 1024
_MAX_DEPTH: Final = 32
_STATUS_WORDS: Final = frozenset({"OK", "NO", "BAD", "BYE", "PREAUTH"})
_ATOM_STOP: Final = frozenset(b' ()"{\r\n')


class ResponseSyntaxError(ValueError):
    """The server sent bytes that are not an IMAP response. The parser refuses further input."""


class ResponseTooLarge(ResponseSyntaxError):
    """A line or literal exceeded the parser's limits."""


class Status(Enum):
    """``resp-cond-state`` / ``resp-cond-bye`` / ``resp-cond-auth`` words."""

    OK = "OK"
    NO = "NO"
    BAD = "BAD"
    BYE = "BYE"
    PREAUTH = "PREAUTH"


@dataclass(frozen=True, slots=True)
class ResponseCodeData:
    """``resp-text-code``: the bracketed code, e.g. ``[CAPABILITY IMAP4rev2 ...]``.

    ``name`` is upper-cased; ``arguments`` is the raw text after the name (may be empty).
    """

    name: str
    arguments: str = ""


@dataclass(frozen=True, slots=True)
class Greeting:
    """``greeting = "*" SP (resp-cond-auth / resp-cond-bye) CRLF``."""

    status: Status
    code: ResponseCodeData | None
    text: str
    raw: bytes


@dataclass(frozen=True, slots=True)
class Untagged:
    """Any ``"*" SP ...`` response after the greeting.

    For status responses (OK/NO/BAD/BYE/PREAUTH) ``status``, ``code`` and ``text`` are set and
    ``values`` is empty. For data responses ``keyword`` is the upper-cased first word after
    an optional number (``* 3 EXISTS`` has ``number=3``, ``keyword="EXISTS"``) and ``values``
    holds the rest, parsed generically.
    """

    keyword: str
    number: int | None
    values: tuple[Value, ...]
    status: Status | None
    code: ResponseCodeData | None
    text: str
    raw: bytes


@dataclass(frozen=True, slots=True)
class Continuation:
    """``continue-req = "+" SP (resp-text / base64) CRLF``; ``text`` is everything after ``+ ``."""

    text: str
    raw: bytes


@dataclass(frozen=True, slots=True)
class Tagged:
    """``response-tagged = tag SP resp-cond-state CRLF``."""

    tag: str
    status: Status
    code: ResponseCodeData | None
    text: str
    raw: bytes


ServerResponse = Greeting | Untagged | Continuation | Tagged


def capabilities_in(response: ServerResponse) -> frozenset[str] | None:
    """The upper-cased capability names a response carries, or None if it carries none.

    Covers ``* CAPABILITY ...`` and a ``[CAPABILITY ...]`` code on any status response.
    """
    if isinstance(response, Untagged) and response.keyword == "CAPABILITY":
        return frozenset(v.upper() for v in response.values if isinstance(v, str))
    code = getattr(response, "code", None)
    if isinstance(code, ResponseCodeData) and code.name == "CAPABILITY":
        return frozenset(word.upper() for word in code.arguments.split())
    return None


def id_fields(response: Untagged) -> dict[str, str | None] | None:
    """The field/value pairs of an ``* ID (...)`` response (RFC 2971), or None if not ID.

    ``* ID NIL`` gives an empty dict. Field names are lower-cased.
    """
    if response.keyword != "ID" or not response.values:
        return None
    params = response.values[0]
    if params is None:
        return {}
    if not isinstance(params, tuple):
        return None
    result: dict[str, str | None] = {}
    for i in range(0, len(params) - 1, 2):
        key, value = params[i], params[i + 1]
        if isinstance(key, bytes | str):
            name = key.decode("utf-8", "replace") if isinstance(key, bytes) else key
            if isinstance(value, bytes):
                result[name.lower()] = value.decode("utf-8", "replace")
            elif isinstance(value, str):
                result[name.lower()] = value
            else:
                result[name.lower()] = None
    return result


class ResponseParser:
    """Turns server bytes into :data:`ServerResponse` values, in order.

    ``expect_greeting`` makes the first response a :class:`Greeting` (set it False after
    STARTTLS, or when a connection is resumed).
    """

    def __init__(
        self,
        *,
        expect_greeting: bool = True,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        max_literal_bytes: int = DEFAULT_MAX_LITERAL_BYTES,
    ) -> None:
        self._buffer = bytearray()
        self._expect_greeting = expect_greeting
        self._max_line = max_line_bytes
        self._max_literal = max_literal_bytes
        self._failed = False

    @property
    def buffered(self) -> bytes:
        """Bytes received but not yet part of a complete response."""
        return bytes(self._buffer)

    def discard_buffer(self) -> bytes:
        """Drop and return unparsed bytes (e.g. anything received before a TLS handshake)."""
        data = bytes(self._buffer)
        self._buffer.clear()
        return data

    def receive_data(self, data: bytes) -> None:
        if self._failed:
            raise ResponseSyntaxError("parser already failed")
        self._buffer += data

    def next_response(self) -> ServerResponse | None:
        """The next complete response, or None if more bytes are needed."""
        if self._failed:
            raise ResponseSyntaxError("parser already failed")
        try:
            end = self._complete_length()
            if end is None:
                return None
            raw = bytes(self._buffer[:end])
            del self._buffer[:end]
            return self._parse(raw)
        except ResponseSyntaxError:
            self._failed = True
            raise

    def _complete_length(self) -> int | None:
        """Length of the first complete response (lines plus literals), or None."""
        pos = 0
        line_start = 0
        while True:
            nl = self._buffer.find(b"\n", pos)
            if nl < 0:
                if len(self._buffer) - line_start > self._max_line:
                    raise ResponseTooLarge("response line too long")
                return None
            if nl - line_start > self._max_line:
                raise ResponseTooLarge("response line too long")
            line = bytes(self._buffer[line_start:nl]).rstrip(b"\r")
            size = _trailing_literal_size(line)
            if size is None:
                return nl + 1
            if size > self._max_literal:
                raise ResponseTooLarge("literal too large")
            literal_end = nl + 1 + size
            if len(self._buffer) < literal_end:
                return None
            pos = literal_end
            line_start = literal_end

    def _parse(self, raw: bytes) -> ServerResponse:
        expect_greeting = self._expect_greeting
        self._expect_greeting = False
        if raw.startswith(b"+"):
            if expect_greeting:
                raise ResponseSyntaxError("continuation instead of greeting")
            body = raw[1:].rstrip(b"\r\n")
            if body.startswith(b" "):
                body = body[1:]
            return Continuation(text=body.decode("utf-8", "replace"), raw=raw)
        if raw.startswith(b"* "):
            return self._parse_untagged(raw, expect_greeting)
        if expect_greeting:
            raise ResponseSyntaxError("greeting must start with '* '")
        line = raw.rstrip(b"\r\n")
        tag, sep, rest = line.partition(b" ")
        if not sep or not tag or not _is_tag(tag):
            raise ResponseSyntaxError("bad tagged response")
        word, _, text = rest.partition(b" ")
        status = _status(word)
        if status is None or status in (Status.BYE, Status.PREAUTH):
            raise ResponseSyntaxError("bad status in tagged response")
        code, human = _resp_text(text)
        return Tagged(tag=tag.decode("ascii"), status=status, code=code, text=human, raw=raw)

    def _parse_untagged(self, raw: bytes, expect_greeting: bool) -> ServerResponse:
        rest = raw[2:]
        first_line = rest.split(b"\n", 1)[0].rstrip(b"\r")
        word, _, text = first_line.partition(b" ")
        status = _status(word)
        if expect_greeting:
            if status not in (Status.OK, Status.PREAUTH, Status.BYE):
                raise ResponseSyntaxError("greeting must be OK, PREAUTH or BYE")
            assert status is not None  # noqa: S101 - narrowed by the check above
            code, human = _resp_text(text)
            return Greeting(status=status, code=code, text=human, raw=raw)
        if status is not None and b"\n" not in rest.rstrip(b"\r\n"):
            code, human = _resp_text(text)
            return Untagged(
                keyword=status.value,
                number=None,
                values=(),
                status=status,
                code=code,
                text=human,
                raw=raw,
            )
        tokens = _Tokenizer(rest.rstrip(b"\r\n"))
        first = tokens.atom()
        number: int | None = None
        if first.isdigit():
            number = int(first)
            tokens.space()
            first = tokens.atom()
        values: list[Value] = []
        while not tokens.at_end():
            tokens.space()
            if tokens.at_end():
                break
            values.append(tokens.value(0))
        return Untagged(
            keyword=first.upper(),
            number=number,
            values=tuple(values),
            status=None,
            code=None,
            text="",
            raw=raw,
        )


def _is_tag(tag: bytes) -> bool:
    return all(0x21 <= b <= 0x7E and b not in b'(){%*"\\+' for b in tag)


def _status(word: bytes) -> Status | None:
    upper = word.upper().decode("ascii", "replace")
    return Status(upper) if upper in _STATUS_WORDS else None


def _resp_text(text: bytes) -> tuple[ResponseCodeData | None, str]:
    """``resp-text = ["[" resp-text-code "]" SP] text``."""
    if text.startswith(b"["):
        close = text.find(b"]")
        if close < 0:
            raise ResponseSyntaxError("unterminated response code")
        inner = text[1:close].decode("utf-8", "replace")
        name, _, arguments = inner.partition(" ")
        if not name:
            raise ResponseSyntaxError("empty response code")
        human = text[close + 1 :].lstrip(b" ")
        return ResponseCodeData(name=name.upper(), arguments=arguments), human.decode(
            "utf-8", "replace"
        )
    return None, text.decode("utf-8", "replace")


def _trailing_literal_size(line: bytes) -> int | None:
    """``literal = "{" number64 ["+"] "}" CRLF``: the size if ``line`` ends with one."""
    if not line.endswith(b"}"):
        return None
    start = line.rfind(b"{")
    if start < 0:
        return None
    digits = line[start + 1 : -1].rstrip(b"+")
    if not digits or not digits.isdigit() or len(digits) > 19:
        return None
    return int(digits)


class _Tokenizer:
    """Generic value reader over one response (lines joined with their literals)."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def at_end(self) -> bool:
        return self._pos >= len(self._data)

    def space(self) -> None:
        if self._data[self._pos : self._pos + 1] != b" ":
            raise ResponseSyntaxError("expected SP")
        self._pos += 1

    def atom(self) -> str:
        start = self._pos
        while self._pos < len(self._data) and self._data[self._pos] not in _ATOM_STOP:
            self._pos += 1
        if self._pos == start:
            raise ResponseSyntaxError("expected atom")
        return self._data[start : self._pos].decode("utf-8", "replace")

    def value(self, depth: int) -> Value:
        if depth > _MAX_DEPTH:
            raise ResponseSyntaxError("lists nested too deeply")
        if self.at_end():
            raise ResponseSyntaxError("expected value")
        c = self._data[self._pos]
        if c == 0x28:  # (
            self._pos += 1
            items: list[Value] = []
            while True:
                if self.at_end():
                    raise ResponseSyntaxError("unterminated list")
                if self._data[self._pos] == 0x29:  # )
                    self._pos += 1
                    return tuple(items)
                if items:
                    self.space()
                items.append(self.value(depth + 1))
        if c == 0x22:  # "
            return self._quoted()
        if c == 0x7B:  # {
            return self._literal()
        word = self.atom()
        return None if word.upper() == "NIL" else word

    def _quoted(self) -> bytes:
        self._pos += 1
        out = bytearray()
        while True:
            if self.at_end():
                raise ResponseSyntaxError("unterminated quoted string")
            c = self._data[self._pos]
            if c in (0x0A, 0x0D):
                raise ResponseSyntaxError("CR/LF in quoted string")
            self._pos += 1
            if c == 0x22:
                return bytes(out)
            if c == 0x5C:  # backslash
                if self.at_end():
                    raise ResponseSyntaxError("unterminated quoted string")
                out.append(self._data[self._pos])
                self._pos += 1
                continue
            out.append(c)

    def _literal(self) -> bytes:
        close = self._data.find(b"}", self._pos)
        if close < 0:
            raise ResponseSyntaxError("bad literal")
        digits = self._data[self._pos + 1 : close].rstrip(b"+")
        if not digits.isdigit():
            raise ResponseSyntaxError("bad literal size")
        size = int(digits)
        start = close + 1
        if self._data[start : start + 2] == b"\r\n":
            start += 2
        elif self._data[start : start + 1] == b"\n":
            start += 1
        else:
            raise ResponseSyntaxError("literal size not followed by CRLF")
        if start + size > len(self._data):
            raise ResponseSyntaxError("short literal")
        self._pos = start + size
        return self._data[start : self._pos]
