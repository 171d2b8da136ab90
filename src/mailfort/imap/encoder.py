"""Responses → bytes. The only place that chooses between atom, quoted string and literal.

Rules (RFC 9051 §4.3): a quoted string never holds CR, LF, NUL or 8-bit bytes; such values are
sent as literals. ``literal8`` (``~{n}``) is used for BINARY content holding NUL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from mailfort.imap.codes import ResponseCode
from mailfort.imap.grammar.modutf7 import encode_mutf7

__all__ = ["quoted_or_literal", "nstring", "astring", "literal", "literal8", "mailbox_name",
           "flag_list", "date_time", "tagged", "untagged", "continuation", "bye", "code_text",
           "paren"]

_ATOM_SPECIALS = frozenset(b'(){ %*"\\]')
_QUOTABLE = frozenset(range(0x20, 0x7F))


def literal(data: bytes) -> bytes:
    return b"{%d}\r\n" % len(data) + data


def literal8(data: bytes) -> bytes:
    return b"~{%d}\r\n" % len(data) + data


def quoted_or_literal(data: bytes | str) -> bytes:
    """``string``: quoted when every byte may be quoted, else a literal."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) < 4096 and all(b in _QUOTABLE for b in data):
        return b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
    return literal(data)


def nstring(data: bytes | str | None) -> bytes:
    return b"NIL" if data is None else quoted_or_literal(data)


def astring(data: bytes | str) -> bytes:
    """``astring``: a bare atom where allowed (never for NIL-looking or empty values)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if (data and data.upper() != b"NIL" and all(0x20 < b < 0x7F for b in data)
            and not any(b in _ATOM_SPECIALS for b in data)):
        return data
    return quoted_or_literal(data)


def mailbox_name(name: str, *, utf8: bool = False) -> bytes:
    """A mailbox in a response: modified UTF-7 unless UTF8=ACCEPT is enabled."""
    if name.upper() == "INBOX":
        return b"INBOX"
    raw = name.encode("utf-8") if utf8 else encode_mutf7(name)
    return quoted_or_literal(raw)


def paren(items: Iterable[bytes]) -> bytes:
    return b"(" + b" ".join(items) + b")"


def flag_list(flags: Iterable[str]) -> bytes:
    return paren(f.encode("utf-8") for f in flags)


def date_time(value: dt.datetime) -> bytes:
    """``date-time``: "dd-Mon-yyyy hh:mm:ss +zzzz" (day space-padded)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    offset = value.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    text = (f'"{value.day:2d}-{months[value.month - 1]}-{value.year:04d} '
            f'{value.hour:02d}:{value.minute:02d}:{value.second:02d} '
            f'{sign}{minutes // 60:02d}{minutes % 60:02d}"')
    return text.encode("ascii")


def code_text(code: ResponseCode | None, data: bytes | None = None) -> bytes:
    if code is None:
        return b""
    inner = code.value.encode("ascii") if data is None else code.value.encode("ascii") + b" " + data
    return b"[" + inner + b"] "


def tagged(tag: str, status: str, text: str, code: ResponseCode | None = None,
           code_data: bytes | None = None) -> bytes:
    """``tag OK|NO|BAD [code] text``. ``text`` comes from fixed tables, never from input."""
    return (tag.encode("ascii") + b" " + status.encode("ascii") + b" "
            + code_text(code, code_data) + text.encode("utf-8") + b"\r\n")


def untagged(data: bytes) -> bytes:
    return b"* " + data + b"\r\n"


def continuation(text: bytes = b"") -> bytes:
    return b"+ " + text + b"\r\n" if text else b"+ \r\n"


def bye(text: str, code: ResponseCode | None = None) -> bytes:
    return b"* BYE " + code_text(code) + text.encode("utf-8") + b"\r\n"
