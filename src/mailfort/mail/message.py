"""What delivery learns of a message, once, so that FETCH and SEARCH never re-parse MIME.

``parse_message(raw)`` (in ``mime.py``) returns a ``ParsedMessage``. ENVELOPE, BODY and
BODYSTRUCTURE are rendered here once into their RFC 9051 wire form (see
docs/decisions/002-precomputed-fetch-items.md): FETCH only concatenates stored bytes.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

__all__ = ["Part", "ParsedMessage"]


@dataclass(frozen=True, slots=True)
class Part:
    """One MIME entity, as byte offsets into the raw message.

    ``header_start``..``body_start`` is the entity's header block (including the blank line
    that ends it); ``body_start``..``end`` its body. ``children`` are the parts of a multipart;
    for ``message/rfc822`` (and ``message/global``) ``children`` holds exactly one Part: the
    encapsulated message (whose own HEADER/TEXT sections are then addressable).
    """

    header_start: int
    body_start: int
    end: int
    content_type: str  # lower-case "type/subtype"; "text/plain" when absent
    charset: str | None  # lower-case, None when absent
    transfer_encoding: str  # lower-case; "7bit" when absent
    children: tuple[Part, ...] = ()

    @property
    def is_multipart(self) -> bool:
        return self.content_type.startswith("multipart/")

    @property
    def is_message(self) -> bool:
        return self.content_type in ("message/rfc822", "message/global")

    def to_json(self) -> list[object]:
        return [self.header_start, self.body_start, self.end, self.content_type, self.charset,
                self.transfer_encoding, [c.to_json() for c in self.children]]

    @classmethod
    def from_json(cls, data: list[object]) -> Part:
        hs, bs, end, ctype, charset, cte, kids = data
        assert isinstance(hs, int) and isinstance(bs, int) and isinstance(end, int)
        assert isinstance(ctype, str) and isinstance(cte, str) and isinstance(kids, list)
        assert charset is None or isinstance(charset, str)
        return cls(hs, bs, end, ctype, charset, cte, tuple(cls.from_json(k) for k in kids))

    def dumps(self) -> str:
        return json.dumps(self.to_json(), separators=(",", ":"))

    @classmethod
    def loads(cls, text: str) -> Part:
        data = json.loads(text)
        assert isinstance(data, list)
        return cls.from_json(data)


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    """Everything FETCH and SEARCH need that is not a flag."""

    size: int  # RFC822.SIZE: len(raw)
    envelope: bytes  # wire form of ENVELOPE, e.g. b'("date" "subject" ((...)) ...)'
    body: bytes  # wire form of BODY (no extension data)
    bodystructure: bytes  # wire form of BODYSTRUCTURE (with extension data)
    root: Part  # the MIME tree with offsets
    sent_date: dt.date | None  # the Date: header's date in its own timezone, for SENT*
    header_index: tuple[tuple[str, str], ...]  # (lower-case name, decoded value), in order
    body_text: str  # decoded text of text/* parts, for BODY/TEXT search
