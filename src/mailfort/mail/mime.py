"""One-pass, tolerant MIME parse of a stored message (RFC 5322, RFC 2045-2047, RFC 2231).

``parse_message(raw)`` never raises on any input. Offsets refer to ``raw`` exactly as stored,
CRLF or bare LF. Structure is found with ``bytes``/regex searches, not the stdlib ``email``
package. Work is bounded: nesting deeper than ``MAX_DEPTH`` and parts beyond ``MAX_PARTS`` are
not split further (such an entity is reported as ``application/octet-stream``).

Multipart bodies follow RFC 2046 §5.1.1: the line break before a delimiter belongs to the
delimiter; a missing close delimiter ends the last part at the end of the enclosing body; a
multipart whose delimiter never appears has no parts (its body is still searchable text).

Search text (``ParsedMessage.body_text``) is the transfer- and charset-decoded text of every
text/* leaf (HTML with tags removed and entities resolved) plus the decoded header fields of
encapsulated messages, which are part of the outer message's body.
"""

from __future__ import annotations

import binascii
import datetime as dt
import html
import re
from dataclasses import dataclass, field
from typing import Final

from mailfort.mail.bodystructure import MimeEntity, Params, render_body
from mailfort.mail.envelope import render_envelope, unfold
from mailfort.mail.message import ParsedMessage, Part

__all__ = ["parse_message", "header_fields", "header_end", "decode_cte", "decode_charset",
           "decode_header_value", "parse_content_params", "MAX_DEPTH", "MAX_PARTS",
           "HeaderField"]

MAX_DEPTH: Final = 50
MAX_PARTS: Final = 5000
_MAX_BOUNDARY: Final = 998

# (lower-case name, raw value with folding, field start offset, field end offset incl. newline)
HeaderField = tuple[str, bytes, int, int]

_BLANK_LINE: Final = re.compile(rb"\n\r?\n")
_FIELD: Final = re.compile(rb"^([!-9;-~]+)[ \t]*:([^\n]*(?:\n[ \t][^\n]*)*)\n?", re.M)
_TOKEN: Final = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_CONTENT_TYPE: Final = re.compile(rb"[ \t\r\n]*(" + _TOKEN + rb")[ \t\r\n]*/[ \t\r\n]*("
                                  + _TOKEN + rb")")
_PARAM: Final = re.compile(rb';[ \t\r\n]*([^=;\s"]+)[ \t\r\n]*=[ \t\r\n]*'
                           rb'("(?:[^"\\]|\\[\s\S])*"|[^;]*)')
_FIRST_TOKEN: Final = re.compile(rb"[ \t\r\n]*([^ \t\r\n;(]+)")
_EXT_NAME: Final = re.compile(rb"(.*?)\*(?:(\d{1,3})(\*)?)?\Z", re.S)
_PCT: Final = re.compile(rb"%([0-9A-Fa-f]{2})")
_UNSAFE_PCT: Final = re.compile(rb"[^A-Za-z0-9!#$&+\-.^_`|~]")
_ENCODED_WORD: Final = re.compile(rb"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([BbQq])\?([^?\s]*)\?=")
_B64_JUNK: Final = re.compile(rb"[^A-Za-z0-9+/]")
_QUOTED_PAIR: Final = re.compile(rb"\\([\s\S])")
_HTML_TAG: Final = re.compile(r"<[^<>]*>")
_DATE: Final = re.compile(rb"(\d{1,2})[ \t\r\n]*-?[ \t\r\n]*([A-Za-z]{3})[A-Za-z]*[ \t\r\n]*-?"
                          rb"[ \t\r\n]*(\d{2,4})\b")
_MONTHS: Final = {m: i for i, m in enumerate(
    (b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov",
     b"dec"), 1)}
_CHARSET_ALIASES: Final = {
    "us-ascii": "utf-8", "ascii": "utf-8", "iso-8859-1": "cp1252", "latin1": "cp1252",
    "gb2312": "gb18030", "gbk": "gb18030", "ks_c_5601-1987": "cp949",
    "iso-8859-8-i": "iso-8859-8", "unicode-1-1-utf-7": "utf-7", "x-unknown": "utf-8",
    "unknown-8bit": "utf-8", "default": "utf-8",
}


# ---------------------------------------------------------------------------------------------
# Decoding pieces


def decode_charset(data: bytes, charset: str | None) -> str:
    """Bytes to text in ``charset``; on an unknown charset or invalid bytes, UTF-8, then
    windows-1252 (which decodes anything)."""
    name = (charset or "utf-8").strip().lower()
    name = _CHARSET_ALIASES.get(name, name)
    if name not in ("utf-8", "utf8"):
        try:
            return data.decode(name)
        except (LookupError, UnicodeError, ValueError, TypeError):
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _b64decode(data: bytes) -> bytes:
    clean = _B64_JUNK.sub(b"", data)
    rem = len(clean) % 4
    if rem == 1:
        clean = clean[:-1]
    elif rem:
        clean += b"=" * (4 - rem)
    try:
        return binascii.a2b_base64(clean)
    except (binascii.Error, ValueError):
        return b""


def decode_cte(data: bytes, encoding: str) -> bytes | None:
    """Content-Transfer-Encoding decoding; ``None`` for an encoding we do not know."""
    enc = encoding.lower()
    if enc in ("7bit", "8bit", "binary", ""):
        return data
    if enc == "base64":
        return _b64decode(data)
    if enc == "quoted-printable":
        try:
            return binascii.a2b_qp(data)
        except (binascii.Error, ValueError):
            return data
    return None


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _decode_word(m: re.Match[bytes]) -> str | None:
    charset, kind, payload = m.group(1), m.group(2), m.group(3)
    if kind in b"Bb":
        data = _b64decode(payload)
    else:
        try:
            data = binascii.a2b_qp(payload, header=True)
        except (binascii.Error, ValueError):
            return None
    return decode_charset(data, charset.decode("latin-1"))


def decode_header_value(value: bytes) -> str:
    """Unfold, decode RFC 2047 encoded words (blanks between adjacent words dropped), and decode
    the rest as UTF-8, falling back to latin-1."""
    value = unfold(value)
    if b"=?" not in value:
        return _text(value)
    out: list[str] = []
    pos = 0
    after_word = False
    for m in _ENCODED_WORD.finditer(value):
        gap = value[pos:m.start()]
        if not (after_word and not gap.strip(b" \t\r\n")):
            out.append(_text(gap))
        decoded = _decode_word(m)
        if decoded is None:
            out.append(_text(m.group()))
            after_word = False
        else:
            out.append(decoded)
            after_word = True
        pos = m.end()
    out.append(_text(value[pos:]))
    return "".join(out)


def _unquote(value: bytes) -> bytes:
    value = value.strip(b" \t\r\n")
    if value.startswith(b'"'):
        value = value[1:-1] if len(value) >= 2 and value.endswith(b'"') else value[1:]
        return _QUOTED_PAIR.sub(rb"\1", value)
    return value


def _pct_decode(value: bytes) -> bytes:
    return _PCT.sub(lambda m: bytes((int(m.group(1), 16),)), value)


def parse_content_params(data: bytes) -> tuple[Params, dict[str, str]]:
    """``;``-separated parameters from ``data`` (which starts at or before the first ``;``).

    Returns the wire parameters (RFC 2231 continuations merged into one ``name`` or, when
    extended, ``name*`` = ``charset'lang'pct-encoded``, as Dovecot sends them) and a dict of
    lower-case name -> fully decoded value (extended values charset-decoded, RFC 2047 words in
    plain values decoded, first occurrence wins)."""
    wire: list[tuple[bytes, bytes] | bytes] = []  # bytes = placeholder for a continuation
    decoded: dict[str, str] = {}
    groups: dict[bytes, list[tuple[int, bool, bytes]]] = {}
    for m in _PARAM.finditer(data):
        name, value = m.group(1), _unquote(m.group(2))
        ext = _EXT_NAME.match(name)
        if ext is None:
            wire.append((name, value))
            key = name.decode("latin-1").lower()
            if key not in decoded:
                decoded[key] = decode_header_value(value)
            continue
        base = ext.group(1)
        if ext.group(2) is None:  # name*=charset'lang'value
            wire.append((base + b"*", value))
            key = base.decode("latin-1").lower()
            if key not in decoded:
                decoded[key] = _decode_extended(value)
            continue
        lower = base.lower()
        if lower not in groups:
            groups[lower] = []
            wire.append(lower)
        groups[lower].append((int(ext.group(2)), ext.group(3) is not None, value))
    out: list[tuple[bytes, bytes]] = []
    for item in wire:
        if isinstance(item, tuple):
            out.append(item)
            continue
        segs = sorted(groups[item], key=lambda s: s[0])
        base_name = item
        if segs[0][1]:  # extended: keep charset'lang'pct form, escape plain segments
            joined = b"".join(v if is_ext else _UNSAFE_PCT.sub(
                lambda m: b"%%%02X" % m.group()[0], v) for _, is_ext, v in segs)
            out.append((base_name + b"*", joined))
            value_text = _decode_extended(joined)
        else:
            joined = b"".join(v if not is_ext else _pct_decode(v) for _, is_ext, v in segs)
            out.append((base_name, joined))
            value_text = decode_header_value(joined)
        key = base_name.decode("latin-1")
        if key not in decoded:
            decoded[key] = value_text
    return tuple(out), decoded


def _decode_extended(value: bytes) -> str:
    parts = value.split(b"'", 2)
    if len(parts) != 3:
        return _text(_pct_decode(value))
    return decode_charset(_pct_decode(parts[2]), parts[0].decode("latin-1") or None)


# ---------------------------------------------------------------------------------------------
# Structure


def header_end(raw: bytes, start: int, end: int) -> int:
    """Offset just after the blank line ending the header that begins at ``start``; ``end``
    when there is none (the entity is all header)."""
    if raw.startswith(b"\n", start, end):
        return start + 1
    if raw.startswith(b"\r\n", start, end):
        return start + 2
    m = _BLANK_LINE.search(raw, start, end)
    return end if m is None else m.end()


def header_fields(raw: bytes, start: int, end: int) -> list[HeaderField]:
    """The fields of the header block ``raw[start:end]`` in order. Lines that are not fields
    are skipped."""
    return [(m.group(1).decode("ascii").lower(), m.group(2), m.start(), m.end())
            for m in _FIELD.finditer(raw, start, end)]


def _count_lines(raw: bytes, start: int, end: int) -> int:
    """Body lines as Dovecot counts them: line feeds (a last line without one is not counted).
    """
    return raw.count(b"\n", start, end)


def _sent_date(value: bytes) -> dt.date | None:
    m = _DATE.search(value)
    if m is None:
        return None
    month = _MONTHS.get(m.group(2).lower())
    if month is None:
        return None
    year = int(m.group(3))
    if len(m.group(3)) == 2:
        year += 2000 if year < 50 else 1900
    elif len(m.group(3)) == 3:
        year += 1900
    try:
        return dt.date(year, month, int(m.group(1)))
    except ValueError:
        return None


@dataclass(slots=True)
class _Parser:
    raw: bytes
    parts: int = 0
    texts: list[str] = field(default_factory=list)

    def entity(self, start: int, end: int, depth: int, in_digest: bool,
               is_message: bool) -> tuple[Part, MimeEntity, list[HeaderField]]:
        raw = self.raw
        self.parts += 1
        body_start = header_end(raw, start, end)
        fields = header_fields(raw, start, body_start)
        content: dict[str, bytes] = {}
        for name, value, _, _ in fields:
            if name.startswith("content-") and name not in content:
                content[name] = value

        ctype_raw = content.get("content-type")
        m = _CONTENT_TYPE.match(ctype_raw) if ctype_raw is not None else None
        if m is not None and ctype_raw is not None:
            mtype, subtype = m.group(1), m.group(2)
            params, decoded = parse_content_params(ctype_raw[m.end():])
        elif in_digest:
            mtype, subtype, params, decoded = b"message", b"rfc822", (), {}
        else:
            mtype, subtype = b"text", b"plain"
            params, decoded = ((b"charset", b"us-ascii"),), {"charset": "us-ascii"}
        if mtype.lower() == b"text" and not any(k.lower() == b"charset" for k, _ in params):
            params = (*params, (b"charset", b"us-ascii"))
        ctype = (mtype + b"/" + subtype).decode("ascii").lower()

        cte_raw = content.get("content-transfer-encoding")
        cte_m = _FIRST_TOKEN.match(cte_raw) if cte_raw is not None else None
        encoding = cte_m.group(1) if cte_m is not None else b"7bit"
        cte = encoding.decode("latin-1").lower()

        charset_text = decoded.get("charset")
        charset = charset_text.strip().lower() if charset_text else None
        if ctype_raw is None or m is None:
            charset = None

        is_multi = ctype.startswith("multipart/")
        is_msg = ctype in ("message/rfc822", "message/global")
        if (is_multi or is_msg) and (depth >= MAX_DEPTH or self.parts >= MAX_PARTS):
            mtype, subtype, ctype = b"application", b"octet-stream", "application/octet-stream"
            is_multi = is_msg = False

        kids: list[tuple[Part, MimeEntity, list[HeaderField]]] = []
        if is_multi:
            boundary = next((v for k, v in params if k.lower() == b"boundary"), b"")
            if 0 < len(boundary) <= _MAX_BOUNDARY:
                digest = ctype == "multipart/digest"
                for s, e in self._split(boundary, body_start, end):
                    kids.append(self.entity(s, e, depth + 1, digest, False))
            if not kids:
                self._add_text(body_start, end, "7bit", None, False)
        elif is_msg:
            kids.append(self.entity(body_start, end, depth + 1, False, True))
        elif mtype.lower() == b"text":
            self._add_text(body_start, end, cte, charset, subtype.lower() == b"html")

        if is_message and fields and depth > 0:
            self.texts.append("\n".join(
                f"{n}: {decode_header_value(v)}" for n, v, _, _ in fields))

        disposition: tuple[bytes, Params] | None = None
        dsp_raw = content.get("content-disposition")
        if dsp_raw is not None:
            dm = _FIRST_TOKEN.match(dsp_raw)
            if dm is not None:
                disposition = (dm.group(1), parse_content_params(dsp_raw[dm.end():])[0])
        lang_raw = content.get("content-language")
        language = tuple(x for x in (unfold(p) for p in lang_raw.split(b",")) if x) \
            if lang_raw is not None else ()
        opt = {k: unfold(content[k]) for k in ("content-id", "content-description",
                                                "content-md5", "content-location")
               if k in content}

        part = Part(start, body_start, end, ctype, charset, cte,
                    tuple(k[0] for k in kids))
        ent = MimeEntity(
            type=mtype, subtype=subtype, params=params, id=opt.get("content-id"),
            description=opt.get("content-description"), encoding=encoding,
            size=end - body_start, lines=_count_lines(raw, body_start, end),
            md5=opt.get("content-md5"), disposition=disposition, language=language,
            location=opt.get("content-location"),
            envelope=render_envelope([(n, v) for n, v, _, _ in fields]) if is_message else None,
            children=tuple(k[1] for k in kids),
        )
        return part, ent, fields

    def _delimiter(self, needle: bytes, pos: int, end: int) -> tuple[int, int, bool] | None:
        """The next delimiter line in ``raw[pos:end]``: (start including the line break before
        it, offset after its own line break, is-close). RFC 2046 §5.1.1: the line break before
        ``--boundary`` belongs to the delimiter; only blanks may follow a delimiter; anything
        may follow a close delimiter's ``--``."""
        raw = self.raw
        i = raw.find(needle, pos, end)
        while i >= 0:
            if i == 0 or raw[i - 1] == 0x0A:
                start = i
                if i - 1 >= pos and raw[i - 1] == 0x0A:
                    start = i - 2 if i - 2 >= pos and raw[i - 2] == 0x0D else i - 1
                j = i + len(needle)
                if raw.startswith(b"--", j, end):
                    nl = raw.find(b"\n", j + 2, end)
                    return start, end if nl < 0 else nl + 1, True
                while j < end and raw[j] in (0x20, 0x09):
                    j += 1
                if j == end:
                    return start, end, False
                if raw[j] == 0x0A:
                    return start, j + 1, False
                if raw[j] == 0x0D and j + 1 < end and raw[j + 1] == 0x0A:
                    return start, j + 2, False
            i = raw.find(needle, i + 1, end)
        return None

    def _split(self, boundary: bytes, start: int, end: int) -> list[tuple[int, int]]:
        needle = b"--" + boundary
        found = self._delimiter(needle, start, end)
        if found is None or found[2]:
            return []
        spans: list[tuple[int, int]] = []
        pos = found[1]
        while True:
            if self.parts + len(spans) >= MAX_PARTS:
                spans.append((pos, end))
                break
            found = self._delimiter(needle, pos, end)
            if found is None:
                spans.append((pos, end))
                break
            spans.append((pos, found[0]))
            if found[2]:
                break
            pos = found[1]
        return spans

    def _add_text(self, start: int, end: int, cte: str, charset: str | None,
                  is_html: bool) -> None:
        if start >= end:
            return
        data = self.raw[start:end]
        decoded = decode_cte(data, cte)
        text = decode_charset(data if decoded is None else decoded, charset)
        if is_html:
            text = html.unescape(_HTML_TAG.sub(" ", text))
        self.texts.append(text)


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse a stored message once: ENVELOPE, BODY, BODYSTRUCTURE, offsets, search text."""
    parser = _Parser(raw)
    root, ent, fields = parser.entity(0, len(raw), 0, False, True)
    index: list[tuple[str, str]] = []
    date: dt.date | None = None
    for name, value, _, _ in fields:
        index.append((name, decode_header_value(value)))
        if name == "date" and date is None:
            date = _sent_date(value)
    return ParsedMessage(
        size=len(raw),
        envelope=ent.envelope or b"NIL",
        body=render_body(ent, extended=False),
        bodystructure=render_body(ent, extended=True),
        root=root,
        sent_date=date,
        header_index=tuple(index),
        body_text="\n".join(parser.texts),
    )
