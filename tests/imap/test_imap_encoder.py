"""The lead's encoder: quoted vs literal choice, 8-bit/NUL never quoted, date-time."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailfort.imap import encoder
from mailfort.imap.codes import ResponseCode
from mailfort.imap.framing import Literal, RawCommand
from mailfort.imap.grammar.atoms import ParseContext, Reader


@pytest.mark.parametrize(("value", "wire"), [
    ("abc", b'"abc"'),
    ("", b'""'),
    ('a"b\\c', b'"a\\"b\\\\c"'),
    ("caf\u00e9", b"{5}\r\ncaf\xc3\xa9"),
    (b"a\x00b", b"{3}\r\na\x00b"),
    (b"a\r\nb", b"{4}\r\na\r\nb"),
    (b"\x7f", b"{1}\r\n\x7f"),
    (b"x" * 5000, b"{5000}\r\n" + b"x" * 5000),
])
def test_quoted_or_literal(value: str | bytes, wire: bytes) -> None:
    assert encoder.quoted_or_literal(value) == wire


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64))
def test_8bit_ctl_and_nul_never_quoted_and_value_survives(data: bytes) -> None:
    wire = encoder.quoted_or_literal(data)
    if any(b < 0x20 or b > 0x7E for b in data):
        assert wire.startswith(b"{")
    if b"\x00" in data:  # NUL is not CHAR8: only literal8 (BINARY) may carry it
        return
    # the client-side reading of our own grammar gives the bytes back
    if wire.startswith(b"{"):
        header, _, body = wire.partition(b"\r\n")
        raw = RawCommand((b"", Literal(body), b""))
    else:
        raw = RawCommand((wire,))
    assert Reader(raw, ParseContext()).string() == data


@pytest.mark.parametrize(("value", "wire"), [
    ("INBOX", b"INBOX"), ("foo.bar", b"foo.bar"), ("NIL", b'"NIL"'), ("nil", b'"nil"'),
    ("", b'""'), ("a b", b'"a b"'), ("a(b", b'"a(b"'), ("a]b", b'"a]b"'), ("a*", b'"a*"'),
    ("a{1}", b'"a{1}"'), ("\u00e9", b"{2}\r\n\xc3\xa9"),
])
def test_astring(value: str, wire: bytes) -> None:
    assert encoder.astring(value) == wire


def test_nstring() -> None:
    assert encoder.nstring(None) == b"NIL"
    assert encoder.nstring("NIL") == b'"NIL"'


@pytest.mark.parametrize(("name", "utf8", "wire"), [
    ("inbox", False, b"INBOX"),
    ("\u00e9t\u00e9", False, b'"&AOk-t&AOk-"'),
    ("a&b", False, b'"a&-b"'),
    ("\u00e9", True, b"{2}\r\n\xc3\xa9"),
])
def test_mailbox_name(name: str, utf8: bool, wire: bytes) -> None:
    assert encoder.mailbox_name(name, utf8=utf8) == wire


@pytest.mark.parametrize(("value", "wire"), [
    (dt.datetime(2024, 2, 1, 9, 5, 7, tzinfo=dt.timezone(dt.timedelta(hours=1))),
     b'" 1-Feb-2024 09:05:07 +0100"'),
    (dt.datetime(2023, 12, 31, 23, 59, 59, tzinfo=dt.timezone(-dt.timedelta(hours=5,
                                                                             minutes=30))),
     b'"31-Dec-2023 23:59:59 -0530"'),
    (dt.datetime(2020, 6, 15, 0, 0, 0), b'"15-Jun-2020 00:00:00 +0000"'),
])
def test_date_time(value: dt.datetime, wire: bytes) -> None:
    assert encoder.date_time(value) == wire


def test_date_time_parses_back() -> None:
    value = dt.datetime(2024, 2, 1, 9, 5, 7, tzinfo=dt.timezone(dt.timedelta(hours=-3)))
    raw = RawCommand((encoder.date_time(value),))
    assert Reader(raw, ParseContext()).date_time() == value


def test_responses() -> None:
    too_big = encoder.tagged("a1", "NO", "Too big", ResponseCode.TOOBIG)
    assert too_big == b"a1 NO [TOOBIG] Too big\r\n"
    assert encoder.tagged("a1", "OK", "done") == b"a1 OK done\r\n"
    assert encoder.untagged(b"3 EXISTS") == b"* 3 EXISTS\r\n"
    assert encoder.continuation() == b"+ \r\n"
    assert encoder.continuation(b"abc") == b"+ abc\r\n"
    assert encoder.bye("bye", ResponseCode.TOOBIG) == b"* BYE [TOOBIG] bye\r\n"
    assert encoder.literal8(b"\x00") == b"~{1}\r\n\x00"
    assert encoder.flag_list(["\\Seen", "foo"]) == b"(\\Seen foo)"
    assert encoder.code_text(ResponseCode.APPENDUID, b"1 2") == b"[APPENDUID 1 2] "
