"""Known-answer tests of the client-side response parser.

Each case is fed whole, byte by byte and with trailing data.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailfort.imap.response_parser import (
    Continuation,
    Greeting,
    ResponseCodeData,
    ResponseParser,
    ResponseSyntaxError,
    ResponseTooLarge,
    ServerResponse,
    Status,
    Tagged,
    Untagged,
    capabilities_in,
    id_fields,
)

GREETING = b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] Dovecot ready.\r\n"


def parse_all(
    data: bytes, *, chunk: int | None = None, greeting: bool = True
) -> list[ServerResponse]:
    parser = ResponseParser(expect_greeting=greeting)
    out: list[ServerResponse] = []
    step = chunk or len(data) or 1
    for i in range(0, len(data), step):
        parser.receive_data(data[i : i + step])
        while (r := parser.next_response()) is not None:
            out.append(r)
    return out


@pytest.mark.parametrize("chunk", [None, 1, 7])
def test_session_whole_and_split(chunk: int | None) -> None:
    data = (
        GREETING
        + b"* CAPABILITY IMAP4rev1 ID AUTH=PLAIN\r\n"
        + b'* ID ("name" "Dovecot" "version" "2.3.19.1" "x" NIL)\r\n'
        + b"a1 OK [CAPABILITY IMAP4rev2] done\r\n"
        + b"+ dGVzdA==\r\n"
        + b"* 3 EXISTS\r\n"
        + b'* LIST (\\HasNoChildren) "/" {5}\r\nIN"BX\r\n'
        + b"a2 NO [PRIVACYREQUIRED] Plaintext authentication disallowed\r\n"
    )
    rs = parse_all(data, chunk=chunk)
    assert len(rs) == 8
    g = rs[0]
    assert isinstance(g, Greeting) and g.status is Status.OK and g.text == "Dovecot ready."
    assert capabilities_in(g) == frozenset({"IMAP4REV1", "STARTTLS", "LOGINDISABLED"})
    assert isinstance(rs[1], Untagged) and capabilities_in(rs[1]) == frozenset(
        {"IMAP4REV1", "ID", "AUTH=PLAIN"}
    )
    assert isinstance(rs[2], Untagged)
    assert id_fields(rs[2]) == {"name": "Dovecot", "version": "2.3.19.1", "x": None}
    t = rs[3]
    assert isinstance(t, Tagged) and t.tag == "a1" and t.status is Status.OK
    assert capabilities_in(t) == frozenset({"IMAP4REV2"})
    assert rs[4] == Continuation(text="dGVzdA==", raw=b"+ dGVzdA==\r\n")
    assert isinstance(rs[5], Untagged) and rs[5].number == 3 and rs[5].keyword == "EXISTS"
    lst = rs[6]
    assert isinstance(lst, Untagged) and lst.values == (("\\HasNoChildren",), b"/", b'IN"BX')
    no = rs[7]
    assert isinstance(no, Tagged) and no.status is Status.NO
    assert no.code == ResponseCodeData("PRIVACYREQUIRED", "")


def test_trailing_partial_data_stays_buffered() -> None:
    parser = ResponseParser()
    parser.receive_data(GREETING + b"a1 OK begin TLS\r\n* CAPA")
    assert isinstance(parser.next_response(), Greeting)
    assert isinstance(parser.next_response(), Tagged)
    assert parser.next_response() is None
    assert parser.buffered == b"* CAPA"
    assert parser.discard_buffer() == b"* CAPA"
    assert parser.buffered == b""


def test_preauth_and_bye_greetings() -> None:
    (g,) = parse_all(b"* PREAUTH [CAPABILITY IMAP4rev1] logged in as joe\r\n")
    assert isinstance(g, Greeting) and g.status is Status.PREAUTH
    (b,) = parse_all(b"* BYE too many connections\r\n")
    assert isinstance(b, Greeting) and b.status is Status.BYE


def test_untagged_status_after_greeting() -> None:
    rs = parse_all(b"* BAD [ALERT] Plaintext authentication not allowed\r\n", greeting=False)
    (u,) = rs
    assert (
        isinstance(u, Untagged) and u.status is Status.BAD and u.code == ResponseCodeData("ALERT")
    )


def test_id_nil() -> None:
    (u,) = parse_all(b"* ID NIL\r\n", greeting=False)
    assert isinstance(u, Untagged) and id_fields(u) == {}


@pytest.mark.parametrize(
    "data",
    [b"hello\r\n", b"+ go ahead\r\n", b"* NO nope\r\n", b"a1 OK no greeting\r\n"],
)
def test_bad_greetings(data: bytes) -> None:
    with pytest.raises(ResponseSyntaxError):
        parse_all(data)


@pytest.mark.parametrize(
    "data", [b"a1 MAYBE x\r\n", b"a1 PREAUTH x\r\n", b'* LIST ("x\r\n', b"a1 OK [ALERT x\r\n"]
)
def test_bad_responses(data: bytes) -> None:
    with pytest.raises(ResponseSyntaxError):
        parse_all(data, greeting=False)


def test_limits_apply_before_buffering() -> None:
    parser = ResponseParser(expect_greeting=False, max_line_bytes=100, max_literal_bytes=10)
    parser.receive_data(b"* X " + b"a" * 200)
    with pytest.raises(ResponseTooLarge):
        parser.next_response()
    parser = ResponseParser(expect_greeting=False, max_literal_bytes=10)
    parser.receive_data(b"* X {4294967296}\r\n")
    with pytest.raises(ResponseTooLarge):
        parser.next_response()
    with pytest.raises(ResponseSyntaxError):
        parser.receive_data(b"more")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_only_raise_syntax_errors(data: bytes) -> None:
    parser = ResponseParser()
    parser.receive_data(data)
    try:
        while parser.next_response() is not None:
            pass
    except ResponseSyntaxError:
        pass
