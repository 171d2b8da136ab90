"""FETCH attributes (RFC 9051 §6.4.5, RFC 3501 RFC822.* items, RFC 3516 BINARY, RFC 7162
MODSEQ) → ``commands.FetchAtt``. Macros ALL / FAST / FULL are expanded here.

``fetch-att = "ENVELOPE" / "FLAGS" / "INTERNALDATE" / "RFC822.SIZE" / "BODY" ["STRUCTURE"] /
"UID" / "BODY" section [partial] / "BODY.PEEK" section [partial] / "BINARY" [".PEEK"]
section-binary [partial] / "BINARY.SIZE" section-binary``
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Final

from mailfort.imap import commands as c
from mailfort.imap.errors import BadReason
from mailfort.imap.grammar.atoms import Reader
from mailfort.imap.limits import MAX_NUMBER64

__all__ = ["parse_fetch_atts", "parse_fetch_att", "MACROS"]

_NAME: Final = re.compile(rb"[A-Za-z0-9.]+")
_PART: Final = re.compile(rb"[1-9][0-9]{0,9}(?:\.[1-9][0-9]{0,9})*")
_TEXT: Final = re.compile(rb"[A-Za-z.]+")

_SIMPLE: Final = MappingProxyType({item.value: item for item in c.FetchItem})

MACROS: Final = MappingProxyType({
    "ALL": (c.FetchItem.FLAGS, c.FetchItem.INTERNALDATE, c.FetchItem.RFC822_SIZE,
            c.FetchItem.ENVELOPE),
    "FAST": (c.FetchItem.FLAGS, c.FetchItem.INTERNALDATE, c.FetchItem.RFC822_SIZE),
    "FULL": (c.FetchItem.FLAGS, c.FetchItem.INTERNALDATE, c.FetchItem.RFC822_SIZE,
             c.FetchItem.ENVELOPE, c.FetchItem.BODY),
})
_SECTION_TEXTS: Final = MappingProxyType({t.value: t for t in c.SectionText})


def parse_fetch_atts(r: Reader) -> tuple[c.FetchAtt, ...]:
    """``"ALL" / "FULL" / "FAST" / fetch-att / "(" fetch-att *(SP fetch-att) ")"``"""
    if r.maybe(b"("):
        items = [parse_fetch_att(r)]
        while not r.maybe(b")"):
            r.sp()
            items.append(parse_fetch_att(r))
        return tuple(items)
    macro = MACROS.get(r.peek_keyword() or "")
    if macro is not None:
        r.atom()
        return macro
    return (parse_fetch_att(r),)


def _name(r: Reader) -> str:
    m = _NAME.match(r.chunk, r.pos)
    if m is None:
        r.fail(BadReason.SYNTAX, "expected fetch attribute")
    r.pos = m.end()
    return m.group().decode("ascii").upper()


def parse_fetch_att(r: Reader) -> c.FetchAtt:
    name = _name(r)
    has_section = r.peek() == 0x5B  # "["
    if not has_section:
        item = _SIMPLE.get(name)
        if item is None:
            r.fail(BadReason.SYNTAX, "unknown fetch attribute")
        return item
    if name in ("BODY", "BODY.PEEK"):
        section = _section(r)
        return c.BodySection(section, _partial(r), is_peek=name == "BODY.PEEK")
    if name in ("BINARY", "BINARY.PEEK"):
        part = _binary_part(r)
        return c.BinarySection(part, _partial(r), is_peek=name == "BINARY.PEEK")
    if name == "BINARY.SIZE":
        return c.BinarySize(_binary_part(r))
    r.fail(BadReason.SYNTAX, "unknown fetch attribute")


def _parts(r: Reader) -> tuple[int, ...]:
    m = _PART.match(r.chunk, r.pos)
    if m is None:
        return ()
    parts = tuple(int(p) for p in m.group().split(b"."))
    if any(p > 0xFFFFFFFF for p in parts):
        r.fail(BadReason.INVALID_NUMBER, "part number out of range")
    r.pos = m.end()
    return parts


def _binary_part(r: Reader) -> tuple[int, ...]:
    """``section-binary = "[" [section-part] "]"``"""
    r.expect(b"[")
    part = _parts(r)
    r.expect(b"]")
    return part


def _section(r: Reader) -> c.Section:
    """``section = "[" [section-spec] "]"``"""
    r.expect(b"[")
    if r.maybe(b"]"):
        return c.Section()
    part = _parts(r)
    text: c.SectionText | None = None
    fields: tuple[str, ...] = ()
    if not part or r.maybe(b"."):
        m = _TEXT.match(r.chunk, r.pos)
        if m is None:
            r.fail(BadReason.SYNTAX, "bad section text")
        r.pos = m.end()
        text = _SECTION_TEXTS.get(m.group().decode("ascii").upper())
        if text is None or (text is c.SectionText.MIME and not part):
            r.fail(BadReason.SYNTAX, "bad section text")
        if text in (c.SectionText.HEADER_FIELDS, c.SectionText.HEADER_FIELDS_NOT):
            r.sp()
            fields = _header_list(r)
    r.expect(b"]")
    return c.Section(part, text, fields)


def _header_list(r: Reader) -> tuple[str, ...]:
    """``header-list = "(" header-fld-name *(SP header-fld-name) ")"``"""
    r.expect(b"(")
    names = [_field_name(r)]
    while not r.maybe(b")"):
        r.sp()
        names.append(_field_name(r))
    return tuple(names)


def _field_name(r: Reader) -> str:
    raw = r.astring()
    if not raw or any(b < 0x21 or b > 0x7E or b == 0x3A for b in raw):
        r.fail(BadReason.SYNTAX, "bad header field name")
    return raw.decode("ascii")


def _partial(r: Reader) -> tuple[int, int] | None:
    """``partial = "<" number64 "." nz-number64 ">"``"""
    if not r.maybe(b"<"):
        return None
    offset = r.number(MAX_NUMBER64)
    r.expect(b".")
    length = r.nz_number(MAX_NUMBER64)
    r.expect(b">")
    return offset, length
