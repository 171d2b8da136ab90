"""ENVELOPE in its RFC 9051 §7.5.2 wire form, from a message's raw header fields.

``envelope = "(" env-date SP env-subject SP env-from SP env-sender SP env-reply-to SP env-to SP
env-cc SP env-bcc SP env-in-reply-to SP env-message-id ")"``

Values are sent as the message carries them (unfolded, surrounding blanks trimmed): encoded
words stay encoded, as servers are expected to send them. Sender and Reply-To default to From.
Address lists follow RFC 5322 (``mailbox``, ``name-addr`` with an obsolete route, ``group``);
a group is sent as RFC 9051 asks: ``(NIL NIL "name" NIL)`` members ``(NIL NIL NIL NIL)``.
A mailbox without a local part or domain gets ``MISSING_MAILBOX``/``MISSING_DOMAIN`` (as
Dovecot does), because a NIL host would read as group syntax.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

__all__ = ["wire_string", "wire_nstring", "render_envelope", "parse_addresses", "Address",
           "unfold"]

_QUOTABLE: Final = re.compile(rb"[\x20-\x7e]*\Z")
_NEWLINES: Final = re.compile(rb"\r?\n")

# (name, adl, mailbox, host); None renders as NIL.
Address = tuple[bytes | None, bytes | None, bytes | None, bytes | None]

_GROUP_END: Final[Address] = (None, None, None, None)


def wire_string(data: bytes) -> bytes:
    """``string``: quoted when every byte is printable ASCII and the value is shorter than 4096
    octets (as ``imap.encoder.quoted_or_literal`` decides), else a literal ``{n}\\r\\n``."""
    if len(data) < 4096 and _QUOTABLE.match(data):
        if b"\\" in data or b'"' in data:
            data = data.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
        return b'"' + data + b'"'
    return b"{%d}\r\n" % len(data) + data


def wire_nstring(data: bytes | None) -> bytes:
    return b"NIL" if data is None else wire_string(data)


def unfold(value: bytes) -> bytes:
    """RFC 5322 §2.2.3 unfolding (drop the line breaks), then trim surrounding blanks."""
    if b"\n" in value:
        value = _NEWLINES.sub(b"", value)
    return value.strip(b" \t\r")


# Tokens of an address list. Comments are handled by hand (they nest).
_TOKEN: Final = re.compile(
    rb'(?P<ws>[ \t\r\n]+)'
    rb'|(?P<qs>"(?:[^"\\]|\\.)*"?)'
    rb'|(?P<lit>\[[^\]]*\]?)'
    rb'|(?P<special>[<>@,;:])'
    rb'|(?P<atom>[^ \t\r\n"()<>@,;:\[\]]+)'
    rb'|(?P<other>[\s\S])',
    re.S,
)
_UNQUOTE: Final = re.compile(rb"\\([\s\S])")

_Tok = tuple[str, bytes]  # kind ("word", "qs", "lit", "comment" or the special itself), value


def _tokens(value: bytes) -> list[_Tok]:
    out: list[_Tok] = []
    pos, n = 0, len(value)
    while pos < n:
        if value[pos] == 0x28:  # "(": a comment, possibly nested
            depth, i = 0, pos
            while i < n:
                c = value[i]
                if c == 0x5C:
                    i += 2
                    continue
                if c == 0x28:
                    depth += 1
                elif c == 0x29:
                    depth -= 1
                    if depth == 0:
                        break
                i += 1
            out.append(("comment", value[pos + 1:min(i, n)]))
            pos = i + 1
            continue
        m = _TOKEN.match(value, pos)
        assert m is not None  # the last alternative matches any byte
        pos = m.end()
        kind = m.lastgroup
        if kind == "ws":
            continue
        text = m.group()
        if kind == "special":
            out.append((text.decode("ascii"), text))
        elif kind == "qs":
            out.append(("qs", text))
        elif kind == "lit":
            out.append(("lit", text))
        elif kind == "atom":
            out.append(("word", text))
        elif text == b")":
            continue  # stray close paren
        else:
            out.append(("word", text))
    return out


def _unquote(qs: bytes) -> bytes:
    inner = qs[1:-1] if len(qs) >= 2 and qs.endswith(b'"') else qs[1:]
    return _UNQUOTE.sub(rb"\1", inner)


def _phrase(toks: Sequence[_Tok]) -> bytes | None:
    words = [_unquote(v) if k == "qs" else v for k, v in toks if k != "comment"]
    if not words:
        comments = [v for k, v in toks if k == "comment" and v.strip()]
        return _UNQUOTE.sub(rb"\1", comments[-1]).strip() if comments else None
    return b" ".join(words)


def _addr_spec(toks: Sequence[_Tok]) -> tuple[bytes, bytes]:
    """``local-part "@" domain`` from tokens; the last "@" splits."""
    parts = [(k, v) for k, v in toks if k != "comment"]
    at = max((i for i, (k, _) in enumerate(parts) if k == "@"), default=-1)
    local_toks, dom_toks = (parts[:at], parts[at + 1:]) if at >= 0 else (parts, [])
    local = b"".join(v for _, v in local_toks)
    domain = b"".join(v for _, v in dom_toks)
    return (local or b"MISSING_MAILBOX", domain or b"MISSING_DOMAIN")


def _comment_name(toks: Sequence[_Tok]) -> bytes | None:
    comments = [v for k, v in toks if k == "comment" and v.strip()]
    return _UNQUOTE.sub(rb"\1", comments[-1]).strip() if comments else None


def parse_addresses(value: bytes) -> list[Address]:
    """An RFC 5322 ``address-list`` as ENVELOPE addresses. Tolerant: never raises."""
    toks = _tokens(value)
    out: list[Address] = []
    pending: list[_Tok] = []
    in_group = False
    i, n = 0, len(toks)

    def flush() -> None:
        if any(k != "comment" for k, _ in pending):
            local, domain = _addr_spec(pending)
            out.append((_comment_name(pending), None, local, domain))
        pending.clear()

    while i < n:
        kind, val = toks[i]
        if kind == "<":
            name = _phrase(pending)
            pending.clear()
            j = i + 1
            inner: list[_Tok] = []
            while j < n and toks[j][0] != ">":
                inner.append(toks[j])
                j += 1
            route: bytes | None = None
            colon = next((x for x, (k, _) in enumerate(inner) if k == ":"), -1)
            if colon >= 0:
                route = b"".join(v for k, v in inner[:colon] if k != "comment") or None
                inner = inner[colon + 1:]
            if any(k != "comment" for k, _ in inner):
                local, domain = _addr_spec(inner)
                out.append((name, route, local, domain))
            # skip anything up to the next separator
            i = j + 1
            while i < n and toks[i][0] not in (",", ";"):
                i += 1
            continue
        if kind == ":" and not in_group:
            out.append((None, None, _phrase(pending) or b"", None))
            pending.clear()
            in_group = True
        elif kind == ",":
            flush()
        elif kind == ";":
            flush()
            if in_group:
                out.append(_GROUP_END)
                in_group = False
        elif kind == ">":
            pass
        else:
            pending.append((kind, val))
        i += 1
    flush()
    if in_group:
        out.append(_GROUP_END)
    return out


def _address_list(value: bytes | None) -> bytes:
    if value is None:
        return b"NIL"
    addrs = parse_addresses(value)
    if not addrs:
        return b"NIL"
    return b"(" + b"".join(
        b"(" + b" ".join(wire_nstring(x) for x in a) + b")" for a in addrs) + b")"


def render_envelope(fields: Sequence[tuple[str, bytes]]) -> bytes:
    """ENVELOPE from ``(lower-case name, raw value)`` header fields in message order; the first
    occurrence of each field counts."""
    wanted = ("date", "subject", "from", "sender", "reply-to", "to", "cc", "bcc",
              "in-reply-to", "message-id")
    found: dict[str, bytes] = {}
    for name, value in fields:
        if name in wanted and name not in found:
            found[name] = unfold(value)
    addr = {k: _address_list(found.get(k)) for k in ("from", "sender", "reply-to", "to", "cc",
                                                     "bcc")}
    for k in ("sender", "reply-to"):
        if addr[k] == b"NIL":
            addr[k] = addr["from"]

    def ns(name: str) -> bytes:
        return wire_nstring(found.get(name))

    return b"(" + b" ".join((
        ns("date"), ns("subject"), addr["from"], addr["sender"], addr["reply-to"], addr["to"],
        addr["cc"], addr["bcc"], ns("in-reply-to"), ns("message-id"),
    )) + b")"
