"""ImapConnection behaviour: pipelining, IDLE, SASL, STARTTLS, EOF, state."""

from __future__ import annotations

import pytest

from mailfort.core.secret import Secret
from mailfort.imap import commands as c
from mailfort.imap.connection import (
    CommandReceived,
    ConnectionClosed,
    IdleDone,
    ImapConnection,
    SaslCancelled,
    SaslResponse,
)
from mailfort.imap.state import VALID_STATES, State, StateError
from tests.imap.imap_harness import SPLITS, connection_in, drain, feed

NOOP = b"z NOOP\r\n"
NOOP_EVENT = CommandReceived(c.Noop("z"))


def test_pipelined_commands_come_out_in_order() -> None:
    conn = ImapConnection()
    conn.receive_data(b"a CAPABILITY\r\nb NOOP\r\nc LOGIN {1+}\r\nu p\r\nd LOGOUT\r\n")
    assert conn.next_event() == CommandReceived(c.Capability("a"))
    assert conn.next_event() == CommandReceived(c.Noop("b"))
    assert conn.next_event() == CommandReceived(c.Login("c", "u", Secret("p")))
    assert conn.next_event() == CommandReceived(c.Logout("d"))
    assert conn.next_event() is None


def test_continuation_only_when_literal_header_is_reached() -> None:
    """The ``+`` for a later command's literal must not overtake an earlier reply."""
    conn = ImapConnection()
    conn.receive_data(b"a NOOP\r\nb LOGIN {1}\r\n")
    assert conn.next_event() == CommandReceived(c.Noop("a"))
    assert conn.data_to_send() == b""
    assert conn.next_event() is None
    assert conn.data_to_send() == b"+ Ready for literal data\r\n"


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("line", [b"DONE", b"done", b"DoNe"])
def test_idle_done(line: bytes, split: str) -> None:
    conn = connection_in(State.AUTHENTICATED)
    assert feed(conn, b"i1 IDLE\r\n") == [CommandReceived(c.Idle("i1"))]
    conn.expect_idle_done()
    assert feed(conn, line + b"\r\n" + NOOP, split) == [IdleDone(), NOOP_EVENT]
    assert conn.data_to_send() == b""


@pytest.mark.parametrize("line", [b"DONE x", b"z NOOP", b"", b"DONE {3+}"])
def test_idle_other_line_is_bad_with_idle_tag(line: bytes) -> None:
    conn = connection_in(State.AUTHENTICATED)
    feed(conn, b"i1 IDLE\r\n")
    conn.expect_idle_done()
    assert feed(conn, line + b"\r\n" + NOOP) == [IdleDone(is_valid=False), NOOP_EVENT]
    assert conn.data_to_send() == b"i1 BAD Expected DONE\r\n"


def test_idle_done_tag_may_be_given() -> None:
    conn = connection_in(State.AUTHENTICATED)
    conn.expect_idle_done("t9")
    assert feed(conn, b"nope\r\n") == [IdleDone(is_valid=False)]
    assert conn.data_to_send() == b"t9 BAD Expected DONE\r\n"


@pytest.mark.parametrize(("line", "event"), [
    (b"AGFsaWNlAHB3", SaslResponse(Secret(b"\x00alice\x00pw"))),
    (b"", SaslResponse(Secret(b""))),
    (b"*", SaslCancelled()),
    (b"!!notbase64", SaslResponse(None)),
    (b"AGFsaWNl=AA", SaslResponse(None)),
    (b"{5}", SaslResponse(None)),
])
@pytest.mark.parametrize("split", SPLITS)
def test_sasl_response(line: bytes, event: object, split: str) -> None:
    conn = ImapConnection()
    assert feed(conn, b"a1 AUTHENTICATE PLAIN\r\n") == [
        CommandReceived(c.Authenticate("a1", "PLAIN", None))]
    conn.expect_sasl_response()
    assert feed(conn, line + b"\r\n" + NOOP, split) == [event, NOOP_EVENT]
    assert conn.data_to_send() == b""  # the service answers the AUTHENTICATE


def test_sasl_response_is_secret_in_repr() -> None:
    conn = ImapConnection()
    conn.expect_sasl_response()
    event = feed(conn, b"c2VjcmV0\r\n")[0]
    assert "secret" not in repr(event)


def test_too_long_sasl_line_is_invalid_response() -> None:
    conn = ImapConnection()
    conn.expect_sasl_response()
    assert feed(conn, b"A" * 70_000 + b"\r\n" + NOOP) == [SaslResponse(None), NOOP_EVENT]


@pytest.mark.parametrize("injected", [
    b"b LOGIN attacker pw\r\nc CAPABILITY\r\n",
    b"b LOGIN {8}\r\n",
    b"b LOGIN {8+}\r\nattacker pw\r\n",
    b"b LOGIN attac",
])
def test_starttls_discards_pipelined_plaintext(injected: bytes) -> None:
    conn = ImapConnection()
    conn.receive_data(b"a STARTTLS\r\n" + injected)
    assert conn.next_event() == CommandReceived(c.StartTLS("a"))
    conn.tls_started()
    assert conn.buffered_bytes == 0
    assert conn.next_event() is None
    assert conn.data_to_send() == b""  # no '+' for an injected literal either
    assert feed(conn, b"x CAPABILITY\r\n") == [CommandReceived(c.Capability("x"))]


def test_eof_reports_closed_once_and_drops_partial_command() -> None:
    conn = ImapConnection()
    conn.receive_data(b"a NOOP\r\nb LOG")
    conn.receive_data(b"")
    assert drain(conn) == [CommandReceived(c.Noop("a")), ConnectionClosed()]
    assert conn.next_event() is None
    conn.receive_data(b"c NOOP\r\n")
    assert conn.next_event() is None


def test_eof_while_literal_pending() -> None:
    conn = ImapConnection()
    conn.receive_data(b"a LOGIN {10}\r\nab")
    conn.receive_data(b"")
    assert drain(conn) == [ConnectionClosed()]


def test_state_transitions_follow_table() -> None:
    conn = ImapConnection()
    assert conn.state is State.NOT_AUTHENTICATED
    with pytest.raises(StateError):
        conn.set_state(State.SELECTED)
    conn.set_state(State.AUTHENTICATED)
    conn.set_state(State.SELECTED)
    conn.set_state(State.AUTHENTICATED)
    conn.set_state(State.LOGOUT)
    assert conn.is_closed
    conn.receive_data(NOOP)
    assert conn.next_event() is None


def test_every_command_type_has_states() -> None:
    assert set(VALID_STATES) == set(c.Command.__args__)
    assert all(State.LOGOUT not in states for states in VALID_STATES.values())


def test_enable_utf8_switches_mailbox_decoding() -> None:
    conn = connection_in(State.AUTHENTICATED)
    assert not conn.is_utf8
    feed(conn, b"a SELECT &AOk-\r\n")
    conn.enable_utf8()
    assert conn.is_utf8
    assert feed(conn, b"b SELECT &AOk-\r\n") == [CommandReceived(c.Select("b", "&AOk-"))]
