"""FETCH sections (RFC 9051 §6.4.5) and BINARY (RFC 3516) over the corpus.

Expected contents were checked against Dovecot 2.3.19 for the same files, except where
Dovecot keeps the line break after a nested close delimiter in the enclosing part (RFC 2046
§5.1.1 attaches it to the outer delimiter; see ``test_nested_close_delimiter_crlf``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailfort.mail.message import Part
from mailfort.mail.mime import parse_message
from mailfort.mail.section import binary_bytes, binary_size, find_part, section_bytes

CORPUS = Path(__file__).parent / "corpus"


def load(name: str) -> tuple[bytes, Part]:
    raw = (CORPUS / name).read_bytes()
    return raw, parse_message(raw).root


INNER_HEADER = (b"From: Inner Sender <inner@example.org>\r\nSubject: the inner one\r\n"
                b"Date: 2 Jan 2020 08:00:00 +0000\r\n"
                b"Content-Type: multipart/mixed; boundary=in2\r\n\r\n")

CASES: list[tuple[str, tuple[int, ...], str | None, tuple[str, ...], bytes]] = [
    # whole message and its parts
    ("simple.eml", (), None, (), (CORPUS / "simple.eml").read_bytes()),
    ("simple.eml", (1,), None, (), b"Hello world.\r\nSecond line.\r\n"),
    ("simple.eml", (1, 1), None, (), b""),  # a non-multipart has only part 1
    ("simple.eml", (2,), None, (), b""),
    ("simple.eml", (), "TEXT", (), b"Hello world.\r\nSecond line.\r\n"),
    ("rfc822_inner.eml", (1,), None, (), b"See attached."),
    ("rfc822_inner.eml", (2, 1), None, (), b"inner text"),
    ("rfc822_inner.eml", (2, 2), None, (), b"second inner"),
    ("rfc822_inner.eml", (2, 3), None, (), b""),
    ("rfc822_inner.eml", (3,), None, (), b""),
    ("rfc822_inner.eml", (0,), None, (), b""),
    # HEADER / TEXT of a message/rfc822 part mean the encapsulated message
    ("rfc822_inner.eml", (2,), "HEADER", (), INNER_HEADER),
    ("rfc822_inner.eml", (2,), "header", (), INNER_HEADER),
    ("rfc822_inner.eml", (1,), "HEADER", (), b""),  # not a message/rfc822 part
    ("rfc822_inner.eml", (1,), "TEXT", (), b""),
    # MIME: the part's own header
    ("rfc822_inner.eml", (2,), "MIME", (), b"Content-Type: message/rfc822\r\n\r\n"),
    ("rfc822_inner.eml", (2, 2), "MIME", (),
     b"Content-Type: text/plain; name=x.txt\r\nContent-Disposition: inline\r\n\r\n"),
    ("rfc822_inner.eml", (), "MIME", (), b""),
    ("rfc822_inner.eml", (9,), "MIME", (), b""),
    # HEADER.FIELDS: case-insensitive, message order, original lines, blank line at the end
    ("rfc822_inner.eml", (2,), "HEADER.FIELDS", ("subject", "FROM", "x-none"),
     b"From: Inner Sender <inner@example.org>\r\nSubject: the inner one\r\n\r\n"),
    ("rfc822_inner.eml", (), "HEADER.FIELDS.NOT", ("subject", "content-type"),
     b"From: outer@example.com\r\nTo: someone@example.com\r\n\r\n"),
    ("rfc822_inner.eml", (), "HEADER.FIELDS", ("x-none",), b"\r\n"),
    ("rfc822_inner.eml", (5,), "HEADER.FIELDS", ("from",), b""),
    # a top-level message/rfc822: part 1 is its body, 1.1 the encapsulated body
    ("top_rfc822.eml", (1,), None, (),
     b"From: wrapped@example.com\r\nSubject: wrapped\r\n\r\nwrapped body\r\n"),
    ("top_rfc822.eml", (1, 1), None, (), b"wrapped body\r\n"),
    ("top_rfc822.eml", (1,), "HEADER", (),
     b"From: wrapped@example.com\r\nSubject: wrapped\r\n\r\n"),
    ("top_rfc822.eml", (1,), "TEXT", (), b"wrapped body\r\n"),
    ("nested.eml", (1, 2), None, (), b"<p>caf&eacute;</p>"),
    ("nested.eml", (1, 2, 3), None, (), b""),
    ("nested.eml", (3,), None, (), b""),
    ("digest.eml", (1, 1), None, (), b"one"),
    ("digest.eml", (1,), "HEADER.FIELDS", ("SUBJECT",), b"Subject: first\r\n\r\n"),
    ("bare_lf.eml", (2,), "MIME", (), b"Content-Type: text/html; charset=utf-8\n\n"),
    ("bare_lf.eml", (), "HEADER.FIELDS", ("subject",), b"Subject: bare LF\n\r\n"),
    ("header_only.eml", (), "HEADER.FIELDS", ("subject",), b"Subject: header only\r\n\r\n"),
    ("header_only.eml", (), "TEXT", (), b""),
    ("simple.eml", (), "BOGUS", (), b""),
]


@pytest.mark.parametrize(("name", "part", "text", "fields", "expected"), CASES)
def test_section(name: str, part: tuple[int, ...], text: str | None, fields: tuple[str, ...],
                 expected: bytes) -> None:
    raw, root = load(name)
    assert section_bytes(raw, root, part, text, fields) == expected


def test_header_fields_keep_folding() -> None:
    raw = (b"Subject: one\r\n two\r\nX-A: 1\r\nsubject: again\r\nTo: x@y\r\n\r\nbody")
    root = parse_message(raw).root
    assert section_bytes(raw, root, (), "HEADER.FIELDS", ("SUBJECT",)) == (
        b"Subject: one\r\n two\r\nsubject: again\r\n\r\n")
    assert section_bytes(raw, root, (), "HEADER.FIELDS.NOT", ("subject",)) == (
        b"X-A: 1\r\nTo: x@y\r\n\r\n")
    assert section_bytes(raw, root, (), "HEADER", ()) == raw[:-4]


def test_nested_close_delimiter_crlf() -> None:
    raw, root = load("nested.eml")
    assert section_bytes(raw, root, (1,), None, ()).endswith(b"<p>caf&eacute;</p>\r\n--inner--")


def test_binary() -> None:
    raw, root = load("nested.eml")
    assert binary_bytes(raw, root, (2,)) == b"%PDF-1.4\n"
    assert binary_size(raw, root, (2,)) == 9
    assert binary_bytes(raw, root, (1, 1)) == b"caf\xe9 au lait"
    assert binary_bytes(raw, root, (9,)) == b""
    assert binary_bytes(raw, root, ()) == raw
    # a multipart part is sent as is
    assert binary_bytes(raw, root, (1,)) == section_bytes(raw, root, (1,), None, ())
    raw, root = load("bad_content_type.eml")
    assert binary_bytes(raw, root, (1,)) is None  # x-uuencode: UNKNOWN-CTE
    assert binary_size(raw, root, (1,)) is None
    raw, root = load("base64_text.eml")
    assert binary_bytes(raw, root, (1,)) == "Hello Wörld!".encode()


@pytest.mark.parametrize("path", [(1,), (2,), (2, 1), (2, 1, 1), (2, 2), (3,), (2, 2, 1)])
def test_find_part_is_consistent_with_section(path: tuple[int, ...]) -> None:
    raw, root = load("rfc822_inner.eml")
    part = find_part(root, path)
    body = section_bytes(raw, root, path, None, ())
    if part is None:
        assert body == b""
    else:
        assert body == raw[part.body_start:part.end]


_PIECES = st.sampled_from([
    b"\r\n", b"\n", b"\r\n\r\n", b"--b", b"--b--", b"x", b"Subject: s\r\n",
    b"Content-Type: multipart/mixed; boundary=b\r\n", b"Content-Type: message/rfc822\r\n",
    b"Content-Transfer-Encoding: base64\r\n", b"Content-Transfer-Encoding: x-weird\r\n",
])
_KINDS = st.sampled_from([None, "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME"])


@settings(max_examples=200, deadline=None)
@given(st.lists(_PIECES, max_size=30).map(b"".join),
       st.lists(st.integers(min_value=0, max_value=4), max_size=4).map(tuple), _KINDS)
def test_sections_never_raise(raw: bytes, path: tuple[int, ...], kind: str | None) -> None:
    root = parse_message(raw).root
    out = section_bytes(raw, root, path, kind, ("subject", "content-type"))
    if kind is None or kind in ("HEADER", "TEXT", "MIME"):
        assert out in raw  # a slice of the stored bytes
    binary = binary_bytes(raw, root, path)
    assert binary is None or isinstance(binary, bytes)
