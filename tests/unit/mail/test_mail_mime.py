"""``parse_message``: offsets, BODY, decoding, search text, limits, and never-raise."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailfort.mail.message import ParsedMessage, Part
from mailfort.mail.mime import (
    MAX_DEPTH,
    decode_charset,
    decode_cte,
    decode_header_value,
    parse_content_params,
    parse_message,
)

CORPUS = Path(__file__).parent / "corpus"


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def slice_of(raw: bytes, start: int, end: int) -> bytes:
    return raw[start:end]


# --- structure and offsets ---------------------------------------------------------------


def test_nested_offsets_point_at_the_right_bytes() -> None:
    raw = corpus("nested.eml")
    root = parse_message(raw).root
    alt, pdf = root.children
    plain, html = alt.children
    assert root.content_type == "multipart/mixed"
    assert alt.content_type == "multipart/alternative"
    assert raw[plain.body_start:plain.end] == b"caf=E9 au lait"
    assert plain.charset == "iso-8859-1" and plain.transfer_encoding == "quoted-printable"
    assert raw[html.body_start:html.end] == b"<p>caf&eacute;</p>"
    assert raw[pdf.body_start:pdf.end] == b"JVBERi0xLjQK"
    assert raw[pdf.header_start:pdf.body_start].startswith(b"Content-Type: application/pdf")
    assert raw[pdf.header_start:pdf.body_start].endswith(b"\r\n\r\n")
    # the preamble and epilogue belong to no part
    assert raw[root.body_start:alt.header_start].startswith(b"This is the preamble.")
    assert b"epilogue" in raw[pdf.end:root.end]


def test_body_without_extension_data() -> None:
    parsed = parse_message(corpus("nested.eml"))
    assert parsed.body == (
        b'((("text" "plain" ("charset" "iso-8859-1") NIL NIL "quoted-printable" 14 0)'
        b'("text" "html" ("charset" "utf-8") NIL NIL "7bit" 18 0) "alternative")'
        b'("application" "pdf" ("name" "doc.pdf") "<part3@example.com>" "A document" '
        b'"base64" 12) "mixed")')


def test_message_rfc822_has_one_child_the_encapsulated_message() -> None:
    raw = corpus("rfc822_inner.eml")
    root = parse_message(raw).root
    msg = root.children[1]
    assert msg.is_message and len(msg.children) == 1
    inner = msg.children[0]
    assert inner.header_start == msg.body_start and inner.end == msg.end
    assert inner.content_type == "multipart/mixed"
    assert raw[inner.header_start:inner.body_start].startswith(b"From: Inner Sender")
    assert [raw[p.body_start:p.end] for p in inner.children] == [b"inner text",
                                                                 b"second inner"]
    # the CRLF before the outer close delimiter belongs to the delimiter
    assert raw[msg.body_start:msg.end].endswith(b"--in2--")


def test_bare_lf_offsets() -> None:
    raw = corpus("bare_lf.eml")
    root = parse_message(raw).root
    assert [raw[p.body_start:p.end] for p in root.children] == [
        b"plain one", b"<b>bold</b> &lt;tag&gt;"]
    assert raw[root.children[0].header_start:root.children[0].body_start] == (
        b"Content-Type: text/plain\n\n")


def test_missing_close_delimiter_runs_to_the_end() -> None:
    raw = corpus("missing_close.eml")
    root = parse_message(raw).root
    assert [raw[p.body_start:p.end] for p in root.children] == [
        b"first", b"second, never closed\r\n"]
    assert root.children[-1].end == len(raw)


def test_boundary_never_found_gives_no_parts_but_searchable_text() -> None:
    parsed = parse_message(corpus("no_boundary_found.eml"))
    assert parsed.root.children == ()
    assert "no delimiter here" in parsed.body_text


def test_multipart_without_boundary_parameter() -> None:
    raw = b"Content-Type: multipart/mixed\r\n\r\n--x\r\nhello\r\n--x--\r\n"
    parsed = parse_message(raw)
    assert parsed.root.children == ()
    assert parsed.bodystructure.startswith(b'(("text" "plain" ("charset" "us-ascii") NIL NIL '
                                           b'"7bit" 0 0 NIL NIL NIL NIL) "mixed" NIL NIL NIL NIL)')


def test_header_only_and_empty_body() -> None:
    ho = parse_message(corpus("header_only.eml")).root
    assert ho.body_start == ho.end == len(corpus("header_only.eml"))
    eb = corpus("empty_body.eml")
    root = parse_message(eb).root
    assert eb[root.header_start:root.body_start].endswith(b"\r\n\r\n")
    assert root.body_start == root.end


def test_empty_input() -> None:
    parsed = parse_message(b"")
    assert parsed.size == 0
    assert parsed.envelope == b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"
    assert parsed.bodystructure == (b'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" '
                                    b'0 0 NIL NIL NIL NIL)')
    assert parsed.root == Part(0, 0, 0, "text/plain", None, "7bit")


def test_message_starting_with_blank_line_has_empty_header() -> None:
    parsed = parse_message(b"\r\nbody\r\n")
    assert parsed.root.header_start == 0 and parsed.root.body_start == 2
    assert parsed.header_index == ()


def test_digest_parts_default_to_message_rfc822() -> None:
    root = parse_message(corpus("digest.eml")).root
    assert [p.content_type for p in root.children] == ["message/rfc822", "text/plain"]
    assert root.children[0].children[0].content_type == "text/plain"


def test_top_level_message_rfc822() -> None:
    root = parse_message(corpus("top_rfc822.eml")).root
    assert root.is_message and root.children[0].header_start == root.body_start


def test_huge_header_line() -> None:
    subject = b"x" * 200_000
    raw = b"Subject: " + subject + b"\r\nFrom: a@b.c\r\n\r\nbody\r\n"
    parsed = parse_message(raw)
    assert parsed.header_index[0] == ("subject", subject.decode())
    assert parsed.envelope.startswith(b"(NIL {200000}\r\n" + subject + b" ((NIL NIL \"a\"")
    assert parsed.root.body_start == len(raw) - 6


def test_deep_nesting_is_bounded() -> None:
    depth = MAX_DEPTH + 30
    raw = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i)
                   for i in range(depth)) + b"Content-Type: text/plain\r\n\r\nleaf\r\n"
    parsed = parse_message(raw)
    node, levels = parsed.root, 0
    while node.children:
        node, levels = node.children[0], levels + 1
    assert levels == MAX_DEPTH
    assert node.content_type == "application/octet-stream"


def test_nested_message_rfc822_is_bounded() -> None:
    raw = b"Content-Type: message/rfc822\r\n\r\n" * 500 + b"end\r\n"
    parsed = parse_message(raw)
    node, levels = parsed.root, 0
    while node.children:
        node, levels = node.children[0], levels + 1
    assert levels == MAX_DEPTH


def test_many_parts_parse_fast() -> None:
    raw = (b"Content-Type: multipart/mixed; boundary=q\r\n\r\n"
           + b"--q\r\nContent-Type: text/plain\r\n\r\nx\r\n" * 20_000 + b"--q--\r\n")
    start = time.perf_counter()
    parsed = parse_message(raw)
    assert time.perf_counter() - start < 10
    assert 1000 <= len(parsed.root.children) <= 20_000
    last = parsed.root.children[-1]
    assert last.end <= len(raw)


def test_large_plain_message_is_fast() -> None:
    body = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n" * 40_000
    raw = b"From: a@b.c\r\nSubject: big\r\n\r\n" + body
    start = time.perf_counter()
    parsed = parse_message(raw)
    assert time.perf_counter() - start < 5
    assert parsed.root.end - parsed.root.body_start == len(body)


def test_boundary_with_regex_metacharacters() -> None:
    raw = (b'Content-Type: multipart/mixed; boundary="a.b*c+(d)?"\r\n\r\n'
           b"--a.b*c+(d)?\r\n\r\none\r\n--aXb*c+(d)?\r\nstill one\r\n--a.b*c+(d)?--\r\n")
    root = parse_message(raw).root
    assert [raw[p.body_start:p.end] for p in root.children] == [
        b"one\r\n--aXb*c+(d)?\r\nstill one"]


# --- decoding ----------------------------------------------------------------------------


def test_header_index_decodes_encoded_words_and_8bit() -> None:
    idx = dict(parse_message(corpus("encoded_words.eml")).header_index)
    assert idx["from"] == "Jürgen <juergen@example.de>"
    assert idx["to"] == "André Pirard <PIRARD@vm1.ulg.ac.be>"
    assert idx["subject"] == "If you can read this you understand the example."
    # unknown charset: decoded bytes fall back; a broken word stays as written
    assert idx["x-bogus"] == "abcÿ and =?utf-8?Q?broken"
    # blanks between adjacent encoded words vanish; "_" is a space in Q
    assert idx["keywords"] == "a b c"
    eight = dict(parse_message(corpus("eight_bit.eml")).header_index)
    assert eight["from"] == "Jörg <joerg@example.de>"
    assert eight["subject"] == "Grüße aus Köln"
    assert eight["x-latin"] == "café"


def test_decode_header_value_cases() -> None:
    assert decode_header_value(b"=?utf-8?b?4pyT?=") == "\u2713"
    assert decode_header_value(b"=?UTF-8*en?Q?hi?=") == "hi"  # RFC 2231 language suffix
    assert decode_header_value(b"plain =?utf-8?q?x?= text") == "plain x text"
    assert decode_header_value(b"=?utf-8?b?!!!?=") == ""
    assert decode_header_value(b"folded\r\n value") == "folded value"


def test_rfc2231_parameters_decoded() -> None:
    wire, decoded = parse_content_params(
        b"; name*0*=utf-8''%E2%82%AC%20rates; name*1=\".txt\"; filename*=iso-8859-1'en'caf%E9")
    assert wire == ((b"name*", b"utf-8''%E2%82%AC%20rates.txt"),
                    (b"filename*", b"iso-8859-1'en'caf%E9"))
    assert decoded == {"name": "\u20ac rates.txt", "filename": "café"}
    wire, decoded = parse_content_params(b'; a*1="b"; a*0="x y "; c="q\\"d"')
    assert wire == ((b"a", b"x y b"), (b"c", b'q"d'))
    assert decoded == {"a": "x y b", "c": 'q"d'}
    assert parse_content_params(b"; name=\"=?utf-8?q?caf=C3=A9?=\"")[1] == {"name": "café"}


def test_unterminated_quote_and_junk_parameters() -> None:
    wire, decoded = parse_content_params(b'; boundary="abc; x; =; y=1')
    assert wire[0][0] == b"boundary"
    assert "y" in decoded


def test_decode_charset_fallbacks() -> None:
    assert decode_charset(b"caf\xe9", "iso-8859-1") == "café"
    assert decode_charset("café".encode(), "no-such-charset") == "café"
    assert decode_charset(b"caf\xe9", "utf-8") == "café"
    assert decode_charset(b"abc", "base64") == "abc"  # not a text codec
    assert decode_charset(b"\x80abc", "us-ascii") == "\u20acabc"


@pytest.mark.parametrize("charset", [
    "rot13", "zlib", "hex", "base64_codec", "idna", "punycode", "unicode_escape", "utf-16",
    "utf-32", "mbcs", "", " ", "x" * 300, "utf-8\x00", "\u00e9", "cp037", "utf-7",
])
def test_hostile_charsets_never_raise(charset: str) -> None:
    data = b"\\N{\xff\xfe\x00abc=?+AGEA-\\u12"
    assert isinstance(decode_charset(data, charset), str)
    raw = (b"Subject: =?" + charset.encode("utf-8") + b"?b?" + b"//79AGFi" + b"?=\r\n"
           b"Content-Type: text/plain; charset=\"" + charset.encode("utf-8") + b"\"\r\n\r\n"
           + data)
    parsed = parse_message(raw)
    assert parsed.root.body_start < len(raw)


def test_decode_cte() -> None:
    assert decode_cte(b"SGVsbG8=\r\n", "base64") == b"Hello"
    assert decode_cte(b"SGVsbG8\r\n", "BASE64") == b"Hello"  # missing padding
    assert decode_cte(b"a=3Db=\r\nc", "quoted-printable") == b"a=bc"
    assert decode_cte(b"\x00raw", "binary") == b"\x00raw"
    assert decode_cte(b"begin", "x-uuencode") is None


def test_body_text_for_search() -> None:
    nested = parse_message(corpus("nested.eml")).body_text
    assert "café au lait" in nested  # QP + latin-1
    assert "<p>" not in nested and "café" in nested.split("\n")[1]  # HTML stripped, entity
    assert "JVBER" not in nested  # attachments are not text
    assert parse_message(corpus("base64_text.eml")).body_text == "Hello Wörld!"
    assert parse_message(corpus("eight_bit.eml")).body_text == "naïve body\r\n"
    lf = parse_message(corpus("bare_lf.eml")).body_text
    assert "<tag>" in lf and "<b>" not in lf
    inner = parse_message(corpus("rfc822_inner.eml")).body_text
    assert "the inner one" in inner and "second inner" in inner


def test_sent_date() -> None:
    assert parse_message(corpus("simple.eml")).sent_date == dt.date(1996, 7, 17)
    assert parse_message(b"Date: 2 Jan 20 08:00 +0000\r\n\r\n").sent_date == dt.date(2020, 1, 2)
    assert parse_message(b"Date: 31 Feb 2020 08:00 +0000\r\n\r\n").sent_date is None
    assert parse_message(b"Date: yesterday\r\n\r\n").sent_date is None
    assert parse_message(b"Subject: x\r\n\r\n").sent_date is None
    # the date in the header's own zone, not converted to UTC
    assert parse_message(b"Date: Sat, 1 Jan 2000 23:30:00 -0500\r\n\r\n").sent_date == \
        dt.date(2000, 1, 1)


def test_part_json_round_trip() -> None:
    root = parse_message(corpus("rfc822_inner.eml")).root
    assert Part.loads(root.dumps()) == root


# --- never raise, offsets sane -------------------------------------------------------------


def check_tree(part: Part, lo: int, hi: int) -> None:
    assert lo <= part.header_start <= part.body_start <= part.end <= hi
    prev = part.body_start
    for child in part.children:
        if part.is_message:
            assert child.header_start == part.body_start and child.end == part.end
        else:
            assert child.header_start >= prev
            prev = child.end
        check_tree(child, part.body_start, part.end)
    if part.is_message and part.content_type != "application/octet-stream":
        assert len(part.children) == 1


def check_parsed(raw: bytes, parsed: ParsedMessage) -> None:
    assert parsed.size == len(raw)
    assert parsed.root.header_start == 0 and parsed.root.end == len(raw)
    check_tree(parsed.root, 0, len(raw))
    assert parsed.envelope.startswith(b"(") and parsed.bodystructure.startswith(b"(")


_PIECES = st.sampled_from([
    b"\r\n", b"\n", b"\r\n\r\n", b"--b", b"--b--", b"--c", b" ", b"\t", b":", b";", b"=?",
    b"?=", b"=?utf-8?b?", b"=?x?q?=FF", b"Content-Type: multipart/mixed; boundary=b\r\n",
    b"Content-Type: multipart/alternative; boundary=\"c\"\n",
    b"Content-Type: message/rfc822\r\n", b"Content-Type: text/html; charset=\"utf-8\r\n",
    b"Content-Transfer-Encoding: base64\r\n", b"Content-Transfer-Encoding: quoted-printable\n",
    b"From: \"a\\\" b\" <@r:x@y>, g: ;\r\n", b"To: (c (n) )<\r\n", b"name*0*=x'y'%ZZ;",
    b"\xff\xfe", b"<p>&amp;<", b"=\r\n", b"AAAA", b"a", b"Subject: ", b"\x00",
])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_PIECES, max_size=40).map(b"".join))
def test_structured_garbage_never_raises(raw: bytes) -> None:
    check_parsed(raw, parse_message(raw))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(raw: bytes) -> None:
    check_parsed(raw, parse_message(raw))


def test_corpus_trees_are_well_formed() -> None:
    for path in CORPUS.glob("*.eml"):
        raw = path.read_bytes()
        check_parsed(raw, parse_message(raw))
