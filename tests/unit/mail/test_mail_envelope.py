"""ENVELOPE address parsing and rendering (RFC 9051 §7.5.2, RFC 5322 §3.4)."""

from __future__ import annotations

import pytest

from mailfort.mail.bodystructure import MimeEntity, render_body
from mailfort.mail.envelope import (
    Address,
    parse_addresses,
    render_envelope,
    wire_nstring,
    wire_string,
)

N = None


@pytest.mark.parametrize(("value", "expected"), [
    (b"a@b.c", [(N, N, b"a", b"b.c")]),
    (b"  <a@b.c>  ", [(N, N, b"a", b"b.c")]),
    (b'"Joe Q. Public" <john.q.public@example.com>',
     [(b"Joe Q. Public", N, b"john.q.public", b"example.com")]),
    (b"Joe Q. Public <j@x>", [(b"Joe Q. Public", N, b"j", b"x")]),
    (b'"a \\"quoted\\" name" <q@x>', [(b'a "quoted" name', N, b"q", b"x")]),
    (b"Mary Smith <mary@x.test>, jdoe@example.org",
     [(b"Mary Smith", N, b"mary", b"x.test"), (N, N, b"jdoe", b"example.org")]),
    (b"<@r1,@r2:u@h>", [(N, b"@r1,@r2", b"u", b"h")]),
    (b"u@h (Comment (nested) Name)", [(b"Comment (nested) Name", N, b"u", b"h")]),
    (b"Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
     [(b"Pete", N, b"pete", b"silly.test")]),
    (b'"john doe"@example.com', [(N, N, b'"john doe"', b"example.com")]),
    (b"u@[192.0.2.1]", [(N, N, b"u", b"[192.0.2.1]")]),
    (b"undisclosed-recipients:;", [(N, N, b"undisclosed-recipients", N), (N, N, N, N)]),
    (b"A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;",
     [(N, N, b"A Group", N), (b"Ed Jones", N, b"c", b"a.test"), (N, N, b"joe", b"where.test"),
      (b"John", N, b"jdoe", b"one.test"), (N, N, N, N)]),
    (b"G: a@b", [(N, N, b"G", N), (N, N, b"a", b"b"), (N, N, N, N)]),  # unclosed group
    (b"nobody", [(N, N, b"nobody", b"MISSING_DOMAIN")]),
    (b"@host", [(N, N, b"MISSING_MAILBOX", b"host")]),
    (b"=?utf-8?q?J=C3=BCrgen?= <j@x>", [(b"=?utf-8?q?J=C3=BCrgen?=", N, b"j", b"x")]),
    (b"", []),
    (b" , ,", []),
    (b"<>", []),
    (b'"unterminated <a@b>', [(N, N, b'"unterminated <a@b>', b"MISSING_DOMAIN")]),
    (b"Broken <a@b", [(b"Broken", N, b"a", b"b")]),
    (b"a@b,\r\n c@d", [(N, N, b"a", b"b"), (N, N, b"c", b"d")]),
])
def test_parse_addresses(value: bytes, expected: list[Address]) -> None:
    assert parse_addresses(value) == expected


def test_envelope_defaults_and_nil() -> None:
    env = render_envelope([("from", b"a@b.c"), ("to", b""), ("subject", b" hi "),
                           ("cc", b"x@y.z"), ("cc", b"ignored@second.field")])
    assert env == (b'(NIL "hi" ((NIL NIL "a" "b.c")) ((NIL NIL "a" "b.c")) '
                   b'((NIL NIL "a" "b.c")) NIL ((NIL NIL "x" "y.z")) NIL NIL NIL)')


def test_envelope_sender_and_reply_to_when_present() -> None:
    env = render_envelope([("from", b"a@b.c"), ("sender", b"s@b.c"), ("reply-to", b"r@b.c"),
                           ("message-id", b"<m@x>"), ("in-reply-to", b"<p@x>"),
                           ("date", b"Mon, 7 Feb 1994 21:52:25 -0800 (PST)")])
    assert env == (b'("Mon, 7 Feb 1994 21:52:25 -0800 (PST)" NIL ((NIL NIL "a" "b.c")) '
                   b'((NIL NIL "s" "b.c")) ((NIL NIL "r" "b.c")) NIL NIL NIL "<p@x>" "<m@x>")')


def test_envelope_no_fields() -> None:
    assert render_envelope([]) == b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"


def test_envelope_folded_subject_is_unfolded() -> None:
    env = render_envelope([("subject", b" part one\r\n part two\r\n")])
    assert env.startswith(b'(NIL "part one part two" NIL')
    # TAB is not printable ASCII: a literal, as imap.encoder would send it
    env = render_envelope([("subject", b"a\r\n\tb")])
    assert env.startswith(b"(NIL {3}\r\na\tb NIL")


def test_wire_strings() -> None:
    assert wire_string(b"plain") == b'"plain"'
    assert wire_string(b'q"b\\') == b'"q\\"b\\\\"'
    assert wire_string(b"") == b'""'
    assert wire_string(b"caf\xc3\xa9") == b"{5}\r\ncaf\xc3\xa9"
    assert wire_string(b"a\r\nb") == b"{4}\r\na\r\nb"
    assert wire_string(b"a\x00") == b"{2}\r\na\x00"
    assert wire_string(b"x" * 4096).startswith(b"{4096}\r\n")
    assert wire_nstring(None) == b"NIL"


def test_bodystructure_extension_fields() -> None:
    leaf = MimeEntity(type=b"image", subtype=b"png", params=((b"name", b"caf\xc3\xa9.png"),),
                      id=None, description=None, encoding=b"base64", size=10, lines=0,
                      md5=None, disposition=(b"inline", ()), language=(b"fr",),
                      location=None)
    assert render_body(leaf, extended=True) == (
        b'("image" "png" ("name" {9}\r\ncaf\xc3\xa9.png) NIL NIL "base64" 10 NIL ("inline" NIL) '
        b'"fr" NIL)')
    assert render_body(leaf, extended=False) == (
        b'("image" "png" ("name" {9}\r\ncaf\xc3\xa9.png) NIL NIL "base64" 10)')
    multi = MimeEntity(type=b"multipart", subtype=b"related", params=(), id=None,
                       description=None, encoding=b"7bit", size=0, lines=0, md5=None,
                       disposition=None, language=(b"en", b"de"), location=b"http://x/",
                       children=(leaf, leaf))
    assert render_body(multi, extended=True) == (
        b"(" + render_body(leaf, extended=True) * 2
        + b' "related" NIL NIL ("en" "de") "http://x/")')
