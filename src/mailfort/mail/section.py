"""FETCH body section content (RFC 9051 §6.4.5 ``BODY[section]``, RFC 3516 ``BINARY[...]``).

Sections are computed from the stored bytes and the ``Part`` tree delivery saved; nothing is
re-parsed but the one header block a HEADER.FIELDS asks for.

Part numbers: each multipart numbers its parts from 1; part 1 of a non-multipart entity is its
body; a number after a ``message/rfc822`` part addresses the encapsulated message's parts. A
part that does not exist yields empty content (not an error), as does HEADER/TEXT of a part
that is not a ``message/rfc822``.
"""

from __future__ import annotations

from collections.abc import Sequence

from mailfort.mail.message import Part
from mailfort.mail.mime import decode_cte, header_fields

__all__ = ["find_part", "section_bytes", "binary_bytes", "binary_size"]

_CRLF = b"\r\n"


def find_part(root: Part, part: Sequence[int]) -> Part | None:
    """The entity a part specifier names, or ``None`` when it does not exist. ``()`` is the
    whole message (``root``)."""
    cur = root
    at_message = True  # cur is a message (the root or an encapsulated one), not yet a part
    for n in part:
        if not at_message and cur.is_message:
            if not cur.children:
                return None
            cur, at_message = cur.children[0], True
        if n < 1:
            return None
        if cur.is_multipart:
            if n > len(cur.children):
                return None
            cur = cur.children[n - 1]
        elif not (at_message and n == 1):
            return None
        at_message = False
    return cur


def _message_of(root: Part, part: Sequence[int]) -> Part | None:
    """The message whose HEADER/TEXT a section means: the root, or an encapsulated one."""
    if not part:
        return root
    p = find_part(root, part)
    if p is None or not p.is_message or not p.children:
        return None
    return p.children[0]


def _fields(raw: bytes, msg: Part, names: Sequence[str], keep: bool) -> bytes:
    wanted = {n.lower() for n in names}
    out: list[bytes] = []
    for name, _, start, end in header_fields(raw, msg.header_start, msg.body_start):
        if (name in wanted) == keep:
            line = raw[start:end]
            out.append(line if line.endswith(b"\n") else line + _CRLF)
    out.append(_CRLF)
    return b"".join(out)


def section_bytes(raw: bytes, root: Part, part: tuple[int, ...], text: str | None,
                  fields: tuple[str, ...] = ()) -> bytes:
    """Content of ``BODY[<part>[.<text>]]``.

    ``text`` is ``None``, ``"HEADER"``, ``"HEADER.FIELDS"``, ``"HEADER.FIELDS.NOT"``,
    ``"TEXT"`` or ``"MIME"`` (case-insensitive); ``fields`` are the field names for the
    HEADER.FIELDS forms. HEADER.FIELDS output keeps the original lines (folding included) in
    message order and ends with a blank line.
    """
    kind = None if text is None else text.upper()
    if kind is None:
        if not part:
            return raw
        p = find_part(root, part)
        return b"" if p is None else raw[p.body_start:p.end]
    if kind == "MIME":
        if not part:
            return b""
        p = find_part(root, part)
        return b"" if p is None else raw[p.header_start:p.body_start]
    msg = _message_of(root, part)
    if msg is None:
        return b""
    if kind == "HEADER":
        return raw[msg.header_start:msg.body_start]
    if kind == "TEXT":
        return raw[msg.body_start:msg.end]
    if kind == "HEADER.FIELDS":
        return _fields(raw, msg, fields, True)
    if kind == "HEADER.FIELDS.NOT":
        return _fields(raw, msg, fields, False)
    return b""


def binary_bytes(raw: bytes, root: Part, part: tuple[int, ...]) -> bytes | None:
    """Content of ``BINARY[<part>]``: the part's body with its transfer encoding undone.
    ``None`` when the encoding is unknown (the server answers ``[UNKNOWN-CTE]``); empty when
    the part does not exist. ``()`` is the whole message, unchanged."""
    if not part:
        return raw
    p = find_part(root, part)
    if p is None:
        return b""
    body = raw[p.body_start:p.end]
    if p.is_multipart or p.is_message:
        return body
    return decode_cte(body, p.transfer_encoding)


def binary_size(raw: bytes, root: Part, part: tuple[int, ...]) -> int | None:
    """``BINARY.SIZE[<part>]``; ``None`` when the encoding is unknown."""
    data = binary_bytes(raw, root, part)
    return None if data is None else len(data)
