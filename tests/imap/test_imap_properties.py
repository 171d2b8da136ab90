"""Property tests: random bytes never escape as anything but BAD/BYE; encode → parse round
trips for generated commands; modified UTF-7 round trips."""

from __future__ import annotations

import datetime as dt
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailfort.core.secret import Secret
from mailfort.imap import commands as c
from mailfort.imap.connection import CommandReceived, ConnectionClosed, ImapConnection
from mailfort.imap.errors import BadSyntax, Refused
from mailfort.imap.framing import RawCommand
from mailfort.imap.grammar import ParseContext, parse_command
from mailfort.imap.grammar.atoms import normalise_inbox
from mailfort.imap.grammar.modutf7 import decode_mutf7, encode_mutf7
from mailfort.imap.limits import ProtocolLimits
from mailfort.imap.state import State
from mailfort.mail import search as s
from mailfort.mail.uidset import SeqRange, SequenceSet
from tests.imap import imap_wire
from tests.imap.imap_harness import chunks, connection_in, drain

FAST = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

# ---- random input ----------------------------------------------------------------------
TOKENS = [b" ", b"\r\n", b"(", b")", b"{5}\r\n", b"{3+}\r\n", b"~{2}\r\n", b'"', b"\\", b"*",
          b"a1", b"UID", b"FETCH", b"SEARCH", b"LOGIN", b"APPEND", b"1:*", b"BODY[", b"]",
          b"NOT", b"OR", b"INBOX", b"&", b"-", b"\x00", b"\xff", b"<0.5>", b"$", b"{99999}\r\n"]


@FAST
@given(st.lists(st.one_of(st.sampled_from(TOKENS), st.binary(max_size=12)), max_size=40),
       st.sampled_from(list(State)[:3]), st.sampled_from(["whole", "bytewise", "halves"]))
def test_random_bytes_only_produce_protocol_replies(parts: list[bytes], state: State,
                                                    split: str) -> None:
    conn = connection_in(state, ProtocolLimits(max_line_bytes=200, max_literal_bytes=50,
                                               max_bad_commands=1000))
    data = b"".join(parts)
    for chunk in chunks(data, split):
        conn.receive_data(chunk)
        for event in drain(conn):
            assert isinstance(event, CommandReceived | ConnectionClosed)
    out = conn.data_to_send()
    for line in out.split(b"\r\n")[:-1]:
        words = line.split(b" ")
        assert (line == b"+ Ready for literal data" or words[1] in (b"BAD", b"NO", b"BYE")), line
    assert conn.buffered_bytes <= len(data)


@FAST
@given(st.binary(max_size=300))
def test_parser_raises_only_protocol_errors(data: bytes) -> None:
    for ctx in (ParseContext(), ParseContext(utf8=True)):
        try:
            parse_command(RawCommand((b"a " + data,)), ctx)
        except (BadSyntax, Refused):
            pass


# ---- generated commands ----------------------------------------------------------------
tags = st.text(alphabet=string.ascii_letters + string.digits + ".-_", min_size=1, max_size=8)
names = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=12).map(
    normalise_inbox)
words = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=10)
atoms = st.text(alphabet=string.ascii_letters + string.digits + "$_-.", min_size=1, max_size=8)
nz = st.integers(1, 2**32 - 1)
seq_num = st.one_of(st.none(), nz)
seq_sets = st.one_of(
    st.just(SequenceSet.saved()),
    st.lists(st.tuples(seq_num, seq_num).map(lambda t: SeqRange(*t)), min_size=1,
             max_size=5).map(lambda rs: SequenceSet(tuple(rs))))
flags = st.one_of(st.sampled_from(["\\Seen", "\\Answered", "\\Flagged", "\\Deleted",
                                   "\\Draft"]), atoms)
dates = st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31))

leaf_keys = st.one_of(
    st.sampled_from([s.All(), s.New(), s.Old(), s.Recent()]),
    st.builds(s.HasFlag, flags, st.booleans()),
    st.builds(s.Header, st.sampled_from(["from", "to", "cc", "bcc", "subject", "x-spam"]),
              words),
    st.builds(s.Body, words), st.builds(s.Text, words),
    st.builds(s.DateCompare, st.sampled_from(list(s.DateField)), st.sampled_from(list(s.DateOp)),
              dates),
    st.builds(s.SizeCompare, st.sampled_from(list(s.SizeOp)), st.integers(0, 2**32 - 1)),
    st.builds(s.InSet, seq_sets, st.booleans()),
    st.builds(s.ModSeqAtLeast, st.integers(0, 2**63 - 1)),
)
search_keys = st.recursive(leaf_keys, lambda inner: st.one_of(
    st.builds(s.Not, inner), st.builds(s.Or, inner, inner),
    st.lists(inner, min_size=2, max_size=3).map(lambda ks: s.And(tuple(ks)))), max_leaves=8)

sections = st.one_of(
    st.just(c.Section()),
    st.builds(c.Section, st.lists(st.integers(1, 50), max_size=3).map(tuple),
              st.sampled_from([None, c.SectionText.HEADER, c.SectionText.TEXT])),
    st.builds(c.Section, st.lists(st.integers(1, 50), min_size=1, max_size=3).map(tuple),
              st.just(c.SectionText.MIME)),
    st.builds(c.Section, st.lists(st.integers(1, 9), max_size=2).map(tuple),
              st.sampled_from([c.SectionText.HEADER_FIELDS, c.SectionText.HEADER_FIELDS_NOT]),
              st.lists(atoms, min_size=1, max_size=3).map(tuple)),
)
partials = st.one_of(st.none(), st.tuples(st.integers(0, 2**40), st.integers(1, 2**40)))
parts = st.lists(st.integers(1, 99), max_size=3).map(tuple)
fetch_atts = st.one_of(
    st.sampled_from(list(c.FetchItem)),
    st.builds(c.BodySection, sections, partials, st.booleans()),
    st.builds(c.BinarySection, parts, partials, st.booleans()),
    st.builds(c.BinarySize, parts),
)
datetimes = st.builds(
    lambda d, h, m, sec, off: dt.datetime(d.year, d.month, d.day, h, m, sec,
                                          tzinfo=dt.timezone(dt.timedelta(minutes=off))),
    dates, st.integers(0, 23), st.integers(0, 59), st.integers(0, 59),
    st.integers(-23 * 60 - 59, 23 * 60 + 59))
messages = st.builds(c.AppendMessage, st.lists(flags, max_size=3).map(tuple),
                     st.one_of(st.none(), datetimes), st.binary(max_size=40))
status_items = st.lists(st.sampled_from(list(c.StatusItem)), min_size=1, max_size=4).map(tuple)
no_ws = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zs")), min_size=1, max_size=8)

commands = st.one_of(
    st.builds(c.Login, tags, words, words.map(Secret)),
    st.builds(c.Select, tags, names, st.booleans(), st.booleans()),
    st.builds(c.Create, tags, names, st.lists(st.sampled_from(["\\Sent", "\\Trash", "\\All"]),
                                              max_size=2).map(tuple)),
    st.builds(c.Delete, tags, names), st.builds(c.Subscribe, tags, names),
    st.builds(c.Unsubscribe, tags, names), st.builds(c.Rename, tags, names, names),
    st.builds(c.Status, tags, names, status_items),
    st.builds(c.Copy, tags, st.booleans(), seq_sets, names),
    st.builds(c.Move, tags, st.booleans(), seq_sets, names),
    st.builds(c.Store, tags, st.booleans(), seq_sets, st.sampled_from(list(c.StoreMode)),
              st.lists(flags, max_size=3).map(tuple), st.booleans(),
              st.one_of(st.none(), st.integers(0, 2**63 - 1))),
    st.builds(c.Fetch, tags, st.booleans(), seq_sets,
              st.lists(fetch_atts, min_size=1, max_size=4).map(tuple),
              st.one_of(st.none(), st.integers(0, 2**63 - 1))),
    st.builds(c.Search, tags, st.booleans(), search_keys,
              st.sampled_from([None, "UTF-8", "US-ASCII"]),
              st.one_of(st.none(), st.builds(c.SearchReturn, st.booleans(), st.booleans(),
                                             st.just(True), st.booleans(), st.booleans()))),
    st.builds(c.Append, tags, names, st.lists(messages, min_size=1, max_size=3).map(tuple)),
    st.builds(c.List, tags, names, st.lists(names, min_size=1, max_size=3).map(tuple),
              st.sets(st.sampled_from(["SUBSCRIBED", "REMOTE", "SPECIAL-USE"])).map(frozenset),
              st.builds(c.ListReturn, st.booleans(), st.booleans(), st.booleans(),
                        st.one_of(st.none(), status_items)), st.just(True)),
    st.builds(c.List, tags, names, st.lists(names, min_size=1, max_size=1).map(tuple)),
    st.builds(c.Expunge, tags, seq_sets),
    st.builds(c.Enable, tags, st.lists(no_ws.map(str.upper).filter(
        lambda x: all(ch in string.ascii_uppercase + string.digits + "=-" for ch in x)),
        min_size=1, max_size=3).map(tuple)),
)


@FAST
@given(commands, st.sampled_from(["whole", "bytewise"]))
def test_encode_parse_round_trip(command: c.Command, split: str) -> None:
    wire = imap_wire.command(command)
    conn = ImapConnection(ProtocolLimits(max_paren_depth=100, max_search_depth=100))
    conn.set_state(State.AUTHENTICATED)
    if not isinstance(command, c.Login | c.Enable):
        conn.set_state(State.SELECTED)
    if isinstance(command, c.Login):
        conn = ImapConnection()
    events = []
    for chunk in chunks(wire, split):
        conn.receive_data(chunk)
        events.extend(drain(conn))
    assert events == [CommandReceived(command)], (wire, conn.data_to_send())


@FAST
@given(st.text(st.characters(blacklist_categories=["Cs"]), max_size=30))
def test_modutf7_round_trip(name: str) -> None:
    raw = encode_mutf7(name)
    assert all(0x20 <= b <= 0x7E for b in raw)
    assert decode_mutf7(raw) == name
