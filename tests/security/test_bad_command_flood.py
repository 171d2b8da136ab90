"""Consecutive-BAD budget (SECURITY.md (d): Dovecot disconnects after 3 bad commands before
login and 20 after; rows #10, #13 rely on it to bound a fuzzing session).

Safe behaviour with the default ``limits.max_bad_commands = 10``: ten consecutive invalid
commands end in ``* BYE`` and the connection closes, before and after login and on the
cleartext port; a valid command in between resets the count.
"""

from __future__ import annotations

from tests.security.wire import ConnectionClosed, Server, Wire

BUDGET = 10


def _flood_until_closed(wire: Wire) -> int:
    """Send garbage one command at a time; return how many were answered before the close."""
    answered = 0
    for i in range(BUDGET + 5):
        if not wire.try_send(b"g%d FROBNICATE\r\n" % i):
            break
        try:
            reply = wire.read_tagged(f"g{i}")
        except ConnectionClosed as exc:
            assert any(line.startswith(b"* BYE") for line in exc.lines) or b"BYE" in exc.rest, exc
            break
        assert reply.status == b"BAD", reply
        answered += 1
    else:
        raise AssertionError(f"{BUDGET + 5} BADs in a row and still connected")
    return answered


def test_bad_flood_before_login(server: Server) -> None:
    assert _flood_until_closed(server.tls()) <= BUDGET


def test_bad_flood_on_the_cleartext_port(server: Server) -> None:
    assert _flood_until_closed(server.plain()) <= BUDGET


def test_bad_flood_after_login(server: Server) -> None:
    assert _flood_until_closed(server.login("alice")) <= BUDGET


def test_valid_command_resets_the_count(server: Server) -> None:
    wire = server.tls()
    for round_ in range(3):
        for i in range(BUDGET - 2):
            assert wire.command(f"g{round_}x{i}", b"FROBNICATE").status == b"BAD"
        assert wire.command(f"n{round_}", b"NOOP").is_ok
