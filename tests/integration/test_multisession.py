"""Two sessions of one user on one mailbox see each other's changes (RFC 9051 §7.5.1)."""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.conftest import Account, RunningServer
from tests.integration.imapwire import WireClient

MSG = b"Subject: m\r\n\r\nbody\r\n"
PUSH_DEADLINE_S = 1.0


def _select(w: WireClient) -> None:
    w.command(b"en", b"ENABLE IMAP4rev2")
    assert w.command(b"s", b"SELECT INBOX")[-1].startswith(b"s OK")


def _read_within(w: WireClient, seconds: float) -> bytes:
    start = time.monotonic()
    w.sock.settimeout(seconds)
    try:
        line = w.readline()
    finally:
        w.sock.settimeout(10)
    assert time.monotonic() - start <= seconds + 0.05
    return line


def test_append_store_expunge_seen_by_other(server: RunningServer, account: Account,
                                            wire_factory: Callable[[], WireClient]) -> None:
    a, b = wire_factory(), wire_factory()
    server.deliver(account, MSG)
    _select(a)
    _select(b)
    b.send(b"x APPEND INBOX {%d+}\r\n" % len(MSG) + MSG + b"\r\n")
    assert b.until_tagged(b"x")[-1].startswith(b"x OK [APPENDUID")
    assert a.command(b"n1", b"NOOP") == [b"* 2 EXISTS\r\n", b"n1 OK NOOP completed\r\n"]
    b.command(b"y", b"STORE 1 +FLAGS.SILENT (\\Flagged \\Deleted)")
    assert a.command(b"n2", b"NOOP") == [b"* 1 FETCH (UID 1 FLAGS (\\Deleted \\Flagged))\r\n",
                                         b"n2 OK NOOP completed\r\n"]
    assert b.command(b"z", b"EXPUNGE")[0] == b"* 1 EXPUNGE\r\n"
    # not during FETCH (sequence numbers must not shift under the client) ...
    resp = a.command(b"f", b"FETCH 2 (UID)")
    assert resp == [b"* 2 FETCH (UID 2)\r\n", b"f OK FETCH completed\r\n"]
    # ... but at the next NOOP
    assert a.command(b"n3", b"NOOP") == [b"* 1 EXPUNGE\r\n", b"n3 OK NOOP completed\r\n"]
    assert a.command(b"f2", b"FETCH 1 (UID)")[0] == b"* 1 FETCH (UID 2)\r\n"


def test_fetch_of_message_expunged_elsewhere(server: RunningServer, account: Account,
                                             wire_factory: Callable[[], WireClient]) -> None:
    a, b = wire_factory(), wire_factory()
    server.deliver(account, MSG)
    server.deliver(account, MSG)
    _select(a)
    _select(b)
    b.command(b"d", b"STORE 1 +FLAGS.SILENT (\\Deleted)")
    b.command(b"e", b"EXPUNGE")
    a.command(b"n", b"STORE 2 +FLAGS.SILENT (\\Seen)")  # learns of the expunge, may not say it
    resp = a.command(b"f", b"FETCH 1:2 (UID)")
    assert b"* 2 FETCH (UID 2)\r\n" in resp
    assert resp[-1].startswith(b"f NO [EXPUNGEISSUED]")
    # a UID command may report the expunge (after its own data, numbered as the client knew)
    assert a.command(b"g", b"UID FETCH 1:* (UID)")[:2] == [b"* 2 FETCH (UID 2)\r\n",
                                                           b"* 1 EXPUNGE\r\n"]


def test_idle_pushes_within_a_second(server: RunningServer, account: Account,
                                     wire_factory: Callable[[], WireClient]) -> None:
    a, b = wire_factory(), wire_factory()
    _select(a)
    _select(b)
    a.send(b"i IDLE\r\n")
    assert a.readline() == b"+ idling\r\n"
    server.deliver(account, MSG)
    assert _read_within(a, PUSH_DEADLINE_S) == b"* 1 EXISTS\r\n"
    assert b.command(b"n0", b"NOOP")[0] == b"* 1 EXISTS\r\n"
    b.command(b"s1", b"STORE 1 +FLAGS.SILENT (\\Seen)")
    assert _read_within(a, PUSH_DEADLINE_S) == b"* 1 FETCH (UID 1 FLAGS (\\Seen))\r\n"
    b.command(b"s2", b"STORE 1 +FLAGS.SILENT (\\Deleted)")
    assert _read_within(a, PUSH_DEADLINE_S).startswith(b"* 1 FETCH")
    b.command(b"x", b"EXPUNGE")
    assert _read_within(a, PUSH_DEADLINE_S) == b"* 1 EXPUNGE\r\n"
    a.send(b"DONE\r\n")
    assert a.readline() == b"i OK IDLE terminated\r\n"
    assert a.command(b"n", b"NOOP") == [b"n OK NOOP completed\r\n"]


def test_idle_without_selection_and_bad_done(wire: WireClient) -> None:
    wire.send(b"i IDLE\r\n")
    assert wire.readline() == b"+ idling\r\n"
    wire.send(b"NOTDONE\r\n")
    assert wire.readline().startswith(b"i BAD")
    assert wire.command(b"n", b"NOOP") == [b"n OK NOOP completed\r\n"]
