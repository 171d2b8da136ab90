"""BODY and BODYSTRUCTURE in their RFC 9051 §7.5.2 wire form.

``body = "(" (body-type-1part / body-type-mpart) ")"``; BODYSTRUCTURE adds ``body-ext-1part``
(md5, disposition, language, location) and ``body-ext-mpart`` (params, disposition, language,
location). Strings keep the case the message used (as Dovecot does); a missing or invalid
Content-Type is sent as ``"text" "plain" ("charset" "us-ascii")``, a text/* part without a charset
parameter gets ``"charset" "us-ascii"`` appended, and a missing encoding is ``"7bit"``. Body
lines are counted as Dovecot counts them: line feeds in the body.
A multipart in which no part was found is sent with one empty text/plain part, because the
grammar needs at least one (Dovecot does the same).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from mailfort.mail.envelope import wire_nstring, wire_string

__all__ = ["MimeEntity", "render_body"]

Params = tuple[tuple[bytes, bytes], ...]


@dataclass(frozen=True, slots=True)
class MimeEntity:
    """What BODY/BODYSTRUCTURE say about one entity; built by ``mime.parse_message``."""

    type: bytes  # as sent, e.g. b"TEXT"; b"text" when defaulted
    subtype: bytes
    params: Params  # Content-Type parameters, RFC 2231 continuations merged
    id: bytes | None
    description: bytes | None
    encoding: bytes  # as sent; b"7bit" when absent
    size: int  # body octets
    lines: int  # body lines (used for text/* and message/rfc822)
    md5: bytes | None
    disposition: tuple[bytes, Params] | None
    language: tuple[bytes, ...]
    location: bytes | None
    envelope: bytes | None = None  # set on message entities (the root and encapsulated ones)
    children: tuple[MimeEntity, ...] = ()  # multipart parts, or the encapsulated message

    @property
    def is_multipart(self) -> bool:
        return self.type.lower() == b"multipart"

    @property
    def is_message(self) -> bool:
        return self.type.lower() == b"message" and self.subtype.lower() in (b"rfc822", b"global")


_EMPTY_PART: Final = b'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0'


def _params(params: Params) -> bytes:
    if not params:
        return b"NIL"
    return b"(" + b" ".join(wire_string(k) + b" " + wire_string(v) for k, v in params) + b")"


def _ext_common(e: MimeEntity) -> bytes:
    """body-fld-dsp SP body-fld-lang SP body-fld-loc"""
    if e.disposition is None:
        dsp = b"NIL"
    else:
        dsp = b"(" + wire_string(e.disposition[0]) + b" " + _params(e.disposition[1]) + b")"
    if not e.language:
        lang = b"NIL"
    elif len(e.language) == 1:
        lang = wire_string(e.language[0])
    else:
        lang = b"(" + b" ".join(wire_string(x) for x in e.language) + b")"
    return dsp + b" " + lang + b" " + wire_nstring(e.location)


def render_body(e: MimeEntity, *, extended: bool) -> bytes:
    """BODY (``extended`` False) or BODYSTRUCTURE (``extended`` True) of ``e``."""
    out: list[bytes] = []
    _render(e, extended, out)
    return b"".join(out)


def _render(e: MimeEntity, extended: bool, out: list[bytes]) -> None:
    if e.is_multipart:
        out.append(b"(")
        if e.children:
            for child in e.children:
                _render(child, extended, out)
        else:
            out.append(_EMPTY_PART + (b" NIL NIL NIL NIL)" if extended else b")"))
        out.append(b" " + wire_string(e.subtype))
        if extended:
            out.append(b" " + _params(e.params) + b" " + _ext_common(e))
        out.append(b")")
        return
    out.append(b"(" + b" ".join((
        wire_string(e.type), wire_string(e.subtype), _params(e.params), wire_nstring(e.id),
        wire_nstring(e.description), wire_string(e.encoding), b"%d" % e.size)))
    if e.is_message and e.children:
        inner = e.children[0]
        out.append(b" " + (inner.envelope or b"NIL") + b" ")
        _render(inner, extended, out)
        out.append(b" %d" % e.lines)
    elif e.type.lower() == b"text":
        out.append(b" %d" % e.lines)
    if extended:
        out.append(b" " + wire_nstring(e.md5) + b" " + _ext_common(e))
    out.append(b")")
