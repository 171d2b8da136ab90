"""``mail.search.matches``: every search key, set resolution, and cheap-keys-first evaluation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest

from mailfort.mail.mime import parse_message
from mailfort.mail.search import (
    All,
    And,
    Body,
    DateCompare,
    DateField,
    DateOp,
    HasFlag,
    Header,
    InSet,
    ModSeqAtLeast,
    New,
    Not,
    Old,
    Or,
    Recent,
    SearchKey,
    SizeCompare,
    SizeOp,
    Text,
    matches,
)
from mailfort.mail.uidset import SeqRange, SequenceSet

RAW = (b"From: =?utf-8?q?J=C3=BCrgen?= <juergen@example.de>\r\n"
       b"To: Team <team@example.com>\r\n"
       b"Subject: Quarterly R\xc3\xa9sum\xc3\xa9\r\n"
       b"Date: Sat, 1 Jan 2000 23:30:00 -0500\r\n"
       b"X-Empty:\r\n"
       b"Content-Type: text/plain; charset=utf-8\r\n"
       b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
       b"The STRASSE is long; na=C3=AFve =\r\nwrap.\r\n")


@dataclass
class FakeMessage:
    """A SearchTarget over a parsed message that counts text loads."""

    seq: int = 3
    uid: int = 30
    modseq: int = 7
    size: int = len(RAW)
    internal_date: dt.datetime = dt.datetime(2000, 1, 3, 9, 0, tzinfo=dt.UTC)
    is_recent: bool = False
    flags: set[str] = field(default_factory=lambda: {"\\Seen", "$Work"})
    loads: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.parsed = parse_message(RAW)

    @property
    def sent_date(self) -> dt.date | None:
        return self.parsed.sent_date

    def has_flag(self, flag: str) -> bool:
        return flag.lower() in {f.lower() for f in self.flags}

    def header_values(self, name: str) -> list[str]:
        self.loads.append("header")
        return [v for n, v in self.parsed.header_index if n == name]

    def header_text(self) -> str:
        self.loads.append("header_text")
        return "\n".join(f"{n}: {v}" for n, v in self.parsed.header_index)

    def body_text(self) -> str:
        self.loads.append("body")
        return self.parsed.body_text


def run(key: SearchKey, msg: FakeMessage | None = None, *, largest_seq: int = 10,
        largest_uid: int = 100, saved: SequenceSet | None = None) -> bool:
    return matches(key, msg or FakeMessage(), largest_seq=largest_seq,
                   largest_uid=largest_uid, saved=saved)


D = dt.date


@pytest.mark.parametrize(("key", "expected"), [
    (All(), True),
    # flags, keywords (case-insensitive), UN* forms
    (HasFlag("\\Seen"), True),
    (HasFlag("\\seen"), True),
    (HasFlag("\\Seen", is_set=False), False),
    (HasFlag("\\Deleted"), False),
    (HasFlag("\\Deleted", is_set=False), True),
    (HasFlag("$work"), True),
    (HasFlag("$WORK", is_set=False), False),
    (HasFlag("$Other"), False),
    (HasFlag("\\Recent"), False),
    (Recent(), False),
    (New(), False),
    (Old(), True),
    # header keys: decoded, case-insensitive substring
    (Header("from", "jürgen"), True),
    (Header("from", "JÜRGEN"), True),
    (Header("from", "juergen@example"), True),
    (Header("subject", "résumé"), True),
    (Header("subject", "RÉSUMÉ"), True),
    (Header("subject", "resume"), False),
    (Header("to", "team"), True),
    (Header("cc", ""), False),  # absent field
    (Header("x-empty", ""), True),  # present, empty: matches the empty string
    (Header("X-Empty", ""), True),
    (Header("subject", ""), True),
    # body and text: transfer- and charset-decoded; casefold makes ß match SS
    (Body("naïve wrap"), True),
    (Body("straße"), True),
    (Body("Quarterly"), False),
    (Text("quarterly"), True),
    (Text("NAÏVE"), True),
    (Text("absent"), False),
    # dates: internal date 2000-01-03; sent date 2000-01-01 in its own zone
    (DateCompare(DateField.INTERNAL, DateOp.ON, D(2000, 1, 3)), True),
    (DateCompare(DateField.INTERNAL, DateOp.BEFORE, D(2000, 1, 3)), False),
    (DateCompare(DateField.INTERNAL, DateOp.BEFORE, D(2000, 1, 4)), True),
    (DateCompare(DateField.INTERNAL, DateOp.SINCE, D(2000, 1, 3)), True),
    (DateCompare(DateField.INTERNAL, DateOp.SINCE, D(2000, 1, 4)), False),
    (DateCompare(DateField.SENT, DateOp.ON, D(2000, 1, 1)), True),
    (DateCompare(DateField.SENT, DateOp.ON, D(2000, 1, 2)), False),
    (DateCompare(DateField.SENT, DateOp.BEFORE, D(2000, 1, 2)), True),
    (DateCompare(DateField.SENT, DateOp.BEFORE, D(2000, 1, 1)), False),
    (DateCompare(DateField.SENT, DateOp.SINCE, D(2000, 1, 1)), True),
    (DateCompare(DateField.SENT, DateOp.SINCE, D(2000, 1, 2)), False),
    # sizes are strict
    (SizeCompare(SizeOp.LARGER, len(RAW) - 1), True),
    (SizeCompare(SizeOp.LARGER, len(RAW)), False),
    (SizeCompare(SizeOp.SMALLER, len(RAW) + 1), True),
    (SizeCompare(SizeOp.SMALLER, len(RAW)), False),
    # sets: seq 3, uid 30; "*" is the largest (10 / 100)
    (InSet(SequenceSet.of(3), is_uid=False), True),
    (InSet(SequenceSet.of(30), is_uid=False), False),
    (InSet(SequenceSet.of(30), is_uid=True), True),
    (InSet(SequenceSet.of(3), is_uid=True), False),
    (InSet(SequenceSet((SeqRange(1, 2), SeqRange(4, None))), is_uid=False), False),
    (InSet(SequenceSet((SeqRange(None, 2),)), is_uid=False), True),  # *:2 = 2:10
    (InSet(SequenceSet((SeqRange(31, None),)), is_uid=True), False),
    (InSet(SequenceSet((SeqRange(20, None),)), is_uid=True), True),
    (ModSeqAtLeast(7), True),
    (ModSeqAtLeast(8), False),
    # combinators
    (Not(HasFlag("\\Seen")), False),
    (Or(HasFlag("\\Deleted"), Body("wrap")), True),
    (Or(HasFlag("\\Deleted"), Body("nope")), False),
    (And(()), True),
    (And((HasFlag("\\Seen"), Header("subject", "quarterly"))), True),
    (And((HasFlag("\\Seen"), Not(Header("subject", "quarterly")))), False),
])
def test_each_key(key: SearchKey, expected: bool) -> None:
    assert run(key) is expected


def test_recent_and_new() -> None:
    fresh = FakeMessage(is_recent=True, flags=set())
    assert run(Recent(), fresh) and run(New(), fresh) and not run(Old(), fresh)
    assert run(HasFlag("\\Recent"), fresh)
    seen = FakeMessage(is_recent=True, flags={"\\Seen"})
    assert run(Recent(), seen) and not run(New(), seen)


def test_star_resolves_against_largest() -> None:
    key = InSet(SequenceSet((SeqRange(None, None),)), is_uid=False)
    assert run(key, FakeMessage(seq=10), largest_seq=10)
    assert not run(key, FakeMessage(seq=9), largest_seq=10)
    ukey = InSet(SequenceSet((SeqRange(None, None),)), is_uid=True)
    assert run(ukey, FakeMessage(uid=100), largest_uid=100)
    assert not run(ukey, FakeMessage(uid=99), largest_uid=100)
    # "uid 500:*" when the largest UID is 100 still matches UID 100 (RFC 9051 §6.4.8)
    assert run(InSet(SequenceSet((SeqRange(500, None),)), is_uid=True), FakeMessage(uid=100),
               largest_uid=100)


def test_saved_result_is_a_uid_set() -> None:
    saved_key = InSet(SequenceSet.saved(), is_uid=False)
    assert run(saved_key, saved=SequenceSet.of(30))  # matches the UID, not the seq
    assert not run(saved_key, saved=SequenceSet.of(3))
    assert not run(saved_key, saved=None)
    assert run(InSet(SequenceSet.saved(), is_uid=True), saved=SequenceSet((SeqRange(1, 50),)))


def test_sent_date_falls_back_to_internal_date() -> None:
    msg = FakeMessage()
    msg.parsed = parse_message(b"Subject: no date\r\n\r\nx")
    assert run(DateCompare(DateField.SENT, DateOp.ON, D(2000, 1, 3)), msg)


def test_and_evaluates_cheap_keys_first() -> None:
    msg = FakeMessage()
    key = And((Body("wrap"), Header("subject", "x"), HasFlag("\\Deleted")))
    assert not run(key, msg)
    assert msg.loads == []  # the flag decided; no text was loaded


def test_or_evaluates_cheap_side_first() -> None:
    msg = FakeMessage()
    assert run(Or(Text("nothing"), HasFlag("\\Seen")), msg)
    assert msg.loads == []


def test_flag_only_query_never_loads_text() -> None:
    msg = FakeMessage()
    key = Or(Not(HasFlag("\\Seen")), And((InSet(SequenceSet.of(3), is_uid=False),
                                          SizeCompare(SizeOp.LARGER, 1))))
    assert run(key, msg)
    assert msg.loads == []


def test_text_searches_headers_then_body() -> None:
    msg = FakeMessage()
    assert run(Text("team@example.com"), msg)
    assert msg.loads == ["header_text"]
    msg2 = FakeMessage()
    assert run(Text("wrap"), msg2)
    assert msg2.loads == ["header_text", "body"]
