"""Limits are enforced before buffering (STYLE.md §0.2; SECURITY.md rows 9, 10, 11)."""

from __future__ import annotations

import pytest

from mailfort.config.model import LimitSettings
from mailfort.core.secret import Secret
from mailfort.imap import commands as c
from mailfort.imap.connection import CommandReceived, ConnectionClosed, ImapConnection
from mailfort.imap.framing import Literal, RawCommand, redacted
from mailfort.imap.limits import ProtocolLimits
from mailfort.imap.state import State
from tests.imap.imap_harness import SPLITS, connection_in, feed

NOOP = b"z NOOP\r\n"
NOOP_EVENT = CommandReceived(c.Noop("z"))
SMALL = ProtocolLimits(max_line_bytes=100, max_literal_bytes=50, max_message_bytes=1000,
                       max_command_literal_bytes=80, max_skip_bytes=5000,
                       max_discard_bytes=10_000, max_bad_commands=5, max_paren_depth=4,
                       max_search_depth=8, max_sequence_ranges=10)


def test_defaults_follow_settings() -> None:
    limits = ProtocolLimits.from_settings(LimitSettings(max_line_bytes=123, max_bad_commands=3))
    assert limits.max_line_bytes == 123 and limits.max_bad_commands == 3
    assert limits.max_message_bytes == LimitSettings().max_message_bytes


@pytest.mark.parametrize("split", SPLITS)
def test_long_line_gets_bad_then_rest_discarded(split: str) -> None:
    conn = connection_in(State.NOT_AUTHENTICATED, SMALL)
    events = feed(conn, b"a1 LOGIN " + b"x" * 500 + b" y\r\n" + NOOP, split)
    assert events == [NOOP_EVENT]
    assert conn.data_to_send() == b"a1 BAD [TOOBIG] Command line too long\r\n"


def test_line_at_exact_limit_is_accepted() -> None:
    conn = connection_in(State.NOT_AUTHENTICATED, SMALL)
    line = b"a1 LOGIN u " + b"p" * (100 - len(b"a1 LOGIN u "))
    assert len(line) == 100
    assert feed(conn, line + b"\r\n") == [
        CommandReceived(c.Login("a1", "u", Secret("p" * 89)))]


def test_long_line_never_buffered() -> None:
    conn = connection_in(State.NOT_AUTHENTICATED, SMALL)
    conn.receive_data(b"a1 LOGIN ")
    for _ in range(50):
        conn.receive_data(b"x" * 100)
        conn.next_event()
        assert conn.buffered_bytes <= 200
    assert conn.data_to_send() == b"a1 BAD [TOOBIG] Command line too long\r\n"
    assert feed(conn, b"\r\n" + NOOP) == [NOOP_EVENT]


def test_endless_line_eventually_closes() -> None:
    conn = connection_in(State.NOT_AUTHENTICATED, SMALL)
    events = feed(conn, b"x" * 20_000)
    assert events == [ConnectionClosed()]
    assert conn.data_to_send() == (b"* BAD [TOOBIG] Command line too long\r\n"
                                   b"* BYE [TOOBIG] Input too large\r\n")


def test_long_line_ending_in_literal_plus_skips_its_body() -> None:
    """Otherwise the literal body would run as a command (CRLF injection)."""
    conn = connection_in(State.NOT_AUTHENTICATED, SMALL)
    body = b"b1 LOGIN evil evil\r\n"
    events = feed(conn, b"a1 X " + b"x" * 200 + b" {%d+}\r\n" % len(body) + body + b"\r\n" + NOOP)
    assert events == [NOOP_EVENT]
    assert conn.data_to_send() == b"a1 BAD [TOOBIG] Command line too long\r\n"


@pytest.mark.parametrize("header", [b"{4294967296}", b"{51}", b"{99999999999999999999999}",
                                    b"~{51}"])
def test_too_big_sync_literal_refused_without_continuation(header: bytes) -> None:
    conn = connection_in(State.NOT_AUTHENTICATED, SMALL)
    events = feed(conn, b"a1 LOGIN " + header + b"\r\n" + NOOP)
    assert events == [NOOP_EVENT]
    assert conn.data_to_send() == b"a1 BAD [TOOBIG] Literal too big\r\n"


def test_sync_literal_at_limit_accepted() -> None:
    conn = connection_in(State.NOT_AUTHENTICATED, SMALL)
    events = feed(conn, b"a1 LOGIN {50}\r\n" + b"u" * 50 + b" p\r\n")
    assert events == [CommandReceived(c.Login("a1", "u" * 50, Secret("p")))]
    assert conn.data_to_send() == b"+ Ready for literal data\r\n"


def test_literals_of_one_command_share_a_budget() -> None:
    conn = connection_in(State.NOT_AUTHENTICATED, SMALL)
    events = feed(conn, b"a1 LOGIN {40}\r\n" + b"u" * 40 + b" {41}\r\n" + NOOP)
    assert events == [NOOP_EVENT]
    assert conn.data_to_send() == (b"+ Ready for literal data\r\n"
                                   b"a1 BAD [TOOBIG] Literal too big\r\n")


def test_append_too_big_gets_no_toobig() -> None:
    conn = connection_in(State.AUTHENTICATED, SMALL)
    assert feed(conn, b"a1 APPEND INBOX {1001}\r\n" + NOOP) == [NOOP_EVENT]
    assert conn.data_to_send() == b"a1 NO [TOOBIG] Message too big\r\n"


def test_append_may_use_message_budget_only_when_authenticated() -> None:
    msg = b"m" * 900
    conn = connection_in(State.AUTHENTICATED, SMALL)
    events = feed(conn, b"a1 APPEND INBOX {900}\r\n" + msg + b"\r\n")
    assert events == [CommandReceived(c.Append("a1", "INBOX", (c.AppendMessage((), None, msg),)))]
    pre = connection_in(State.NOT_AUTHENTICATED, SMALL)
    assert feed(pre, b"a1 APPEND INBOX {900}\r\n" + NOOP) == [NOOP_EVENT]
    assert pre.data_to_send() == b"a1 BAD [TOOBIG] Literal too big\r\n"


def test_multiappend_shares_message_budget() -> None:
    conn = connection_in(State.AUTHENTICATED, SMALL)
    data = b"a1 APPEND INBOX {600+}\r\n" + b"a" * 600 + b" {600}\r\n" + NOOP
    assert feed(conn, data) == [NOOP_EVENT]
    assert conn.data_to_send() == b"a1 NO [TOOBIG] Message too big\r\n"


def test_claimed_literal_size_is_not_buffered() -> None:
    conn = connection_in(State.AUTHENTICATED)  # default limits: 50 MiB APPEND
    feed(conn, b"a1 APPEND INBOX {50000000}\r\n")
    assert conn.data_to_send() == b"+ Ready for literal data\r\n"
    feed(conn, b"x" * 10)
    assert conn.buffered_bytes < 1000


@pytest.mark.parametrize("split", SPLITS)
def test_too_big_literal_plus_is_skipped_without_buffering(split: str) -> None:
    conn = connection_in(State.NOT_AUTHENTICATED, SMALL)
    body = (b"b1 LOGIN evil evil\r\n" * 200)[:4000]
    events = feed(conn, b"a1 LOGIN {4000+}\r\n" + body + b" rest {3+}\r\nabc\r\n" + NOOP, split)
    assert events == [NOOP_EVENT]
    assert conn.data_to_send() == b"a1 BAD [TOOBIG] Literal too big\r\n"


def test_skipped_literal_plus_never_held_in_memory() -> None:
    conn = connection_in(State.NOT_AUTHENTICATED, SMALL)
    feed(conn, b"a1 LOGIN {5000+}\r\n")
    for _ in range(49):
        feed(conn, b"y" * 100)
        assert conn.buffered_bytes <= 100
    assert feed(conn, b"y" * 100 + b"\r\n" + NOOP) == [NOOP_EVENT]


@pytest.mark.parametrize("header", [b"{5001+}", b"{99999999999999999999999+}"])
def test_absurd_literal_plus_says_bye_and_closes(header: bytes) -> None:
    conn = connection_in(State.NOT_AUTHENTICATED, SMALL)
    events = feed(conn, b"a1 LOGIN " + header + b"\r\nxx\r\n" + NOOP)
    assert events == [ConnectionClosed()]
    assert conn.data_to_send() == b"* BYE [TOOBIG] Input too large\r\n"
    conn.receive_data(NOOP)
    assert conn.next_event() is None and conn.buffered_bytes == 0


def test_search_paren_depth_limited() -> None:
    conn = connection_in(State.SELECTED, SMALL)
    ok = b"a1 SEARCH " + b"(" * 4 + b"ALL" + b")" * 4 + b"\r\n"
    assert len(feed(conn, ok)) == 1
    deep = b"a2 SEARCH " + b"(" * 5 + b"ALL" + b")" * 5 + b"\r\n"
    assert feed(conn, deep) == []
    assert conn.data_to_send() == b"a2 BAD Command too complex\r\n"


@pytest.mark.parametrize("prefix", [b"(", b"NOT ", b"OR ALL "])
def test_hostile_search_nesting_is_bad_not_recursion_error(prefix: bytes) -> None:
    conn = connection_in(State.SELECTED)
    n = 5_000  # OR ALL x 5000 still fits the 64 KiB line
    data = b"a1 SEARCH " + prefix * n + b"ALL" + b")" * (n if prefix == b"(" else 0)
    assert feed(conn, data + b"\r\n" + NOOP) == [NOOP_EVENT]
    assert conn.data_to_send() == b"a1 BAD Command too complex\r\n"


def test_sequence_ranges_limited() -> None:
    conn = connection_in(State.SELECTED, SMALL)
    ten = b",".join(b"%d" % i for i in range(1, 11))
    assert len(feed(conn, b"a1 FETCH " + ten + b" FLAGS\r\n")) == 1
    assert feed(conn, b"a2 FETCH " + ten + b",11 FLAGS\r\n") == []
    assert conn.data_to_send() == b"a2 BAD Command too complex\r\n"


def test_consecutive_bads_end_in_bye() -> None:
    conn = connection_in(State.NOT_AUTHENTICATED, SMALL)
    events = feed(conn, b"x FROB\r\n" * 4 + NOOP + b"x FROB\r\n" * 4)
    assert events == [NOOP_EVENT]
    conn.data_to_send()
    events = feed(conn, b"x SELECT INBOX\r\n" + NOOP)
    assert events == [ConnectionClosed()]
    assert conn.data_to_send() == (b"x BAD Command not valid in this state\r\n"
                                   b"* BYE Too many invalid commands\r\n")
    assert conn.is_closed
    conn.receive_data(NOOP)
    assert conn.next_event() is None


def test_bad_count_exposed_for_guard() -> None:
    conn = connection_in(State.NOT_AUTHENTICATED, SMALL)
    feed(conn, b"x FROB\r\n" + NOOP + b"y FROB\r\n")
    assert conn.bad_command_count == 2


def test_default_connection_uses_settings() -> None:
    conn = ImapConnection(LimitSettings(max_line_bytes=20))
    assert feed(conn, b"a1 LOGIN aaaaaaaaaaaaaaaaaaaaaaaaa b\r\n") == []
    assert conn.data_to_send() == b"a1 BAD [TOOBIG] Command line too long\r\n"


@pytest.mark.parametrize(("raw", "trace"), [
    ((b'a1 LOGIN alice "pw"',), b"a1 LOGIN ***"),
    ((b"a1 login ", Literal(b"alice"), b" ", Literal(b"secret"), b""), b"a1 login ***"),
    ((b"a1 AUTHENTICATE PLAIN AGFsaWNlAHB3",), b"a1 AUTHENTICATE PLAIN ***"),
    ((b"a1 AUTHENTICATE PLAIN",), b"a1 AUTHENTICATE PLAIN"),
    ((b"a1 APPEND INBOX ", Literal(b"Subject: private"), b""), b"a1 APPEND INBOX {16}"),
    ((b"a1 NOOP",), b"a1 NOOP"),
])
def test_wire_trace_masks_credentials_and_literals(raw: tuple[bytes | Literal, ...],
                                                   trace: bytes) -> None:
    assert redacted(RawCommand(raw)) == trace


def test_many_small_literal_plus_hit_the_command_cap_and_are_skipped() -> None:
    """SECURITY.md row 9: 10,000 x {100+} in one command is refused once, never buffered."""
    conn = connection_in(State.AUTHENTICATED)
    conn.receive_data(b"a1 ID (")
    peak = 0
    for _ in range(10_000):
        conn.receive_data(b'"k" {100+}\r\n' + b"v" * 100 + b" ")
        assert conn.next_event() is None
        peak = max(peak, conn.buffered_bytes)
    assert feed(conn, b")\r\n" + NOOP) == [NOOP_EVENT]
    assert conn.data_to_send() == b"a1 BAD [TOOBIG] Literal too big\r\n"
    limits = ProtocolLimits()
    assert peak <= limits.max_command_literal_bytes + limits.max_line_bytes
