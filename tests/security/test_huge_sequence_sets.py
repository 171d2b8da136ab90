"""SECURITY.md row #26 — sequence sets expanded into lists (Nextcloud/Horde expanded
``1:1000000`` client side); RFC 9051's grammar: numbers are 32-bit.

Safe behaviour: sets are handled as ranges — ``1:4294967295`` and ``1:*`` answer at once with
only the messages that exist, memory does not move; more than the configured 1,000 ranges in
one set is BAD; numbers past 2^32-1 are BAD; a set of exactly 1,000 ranges still works. The
table's 1,000,000-message mailbox is scaled to 3 messages: expansion cost depends on the range
bounds, not on the messages, so the small mailbox shows the same bug.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from tests.security.wire import Server, Wire

MAX_RANGES = 1000


@pytest.fixture(scope="module")
def mailbox(server: Server) -> None:
    wire = server.login("alice")
    for i in range(3):
        reply, _ = wire.literal_command(f"a{i}", b"APPEND INBOX ",
                                        b"From: a@example.com\r\nSubject: %d\r\n\r\nx\r\n" % i)
        assert reply.is_ok, reply
    wire.close()


@pytest.fixture()
def selected(server: Server, mailbox: None) -> Iterator[Wire]:
    wire = server.login("alice")
    assert wire.command("s", b"SELECT INBOX").is_ok
    yield wire
    wire.close()


def _fetch_count(lines: tuple[bytes, ...]) -> int:
    return sum(1 for line in lines if line.startswith(b"* ") and b" FETCH " in line)


@pytest.mark.parametrize("command", [
    b"UID FETCH 1:4294967295 (FLAGS)", b"UID FETCH 4294967295:1 (FLAGS)",
    b"UID FETCH 1:* (FLAGS)", b"FETCH 1:* (FLAGS)", b"UID SEARCH UID 1:4294967295",
    b"UID STORE 1:4294967295 +FLAGS (\\Seen)", b"STORE 1:* +FLAGS (\\Seen)",
    b"UID SEARCH 1:*", b"SEARCH 1:*",
])
def test_whole_range_is_cheap(server: Server, selected: Wire, command: bytes) -> None:
    before = server.rss_kib()
    started = time.monotonic()
    reply = selected.command("a", command)
    assert time.monotonic() - started < 2
    assert reply.is_ok, reply
    if b"FETCH" in command:
        assert _fetch_count(reply.untagged) == 3
    assert server.rss_kib() - before < 8 * 1024


def test_sequence_numbers_past_exists(server: Server, selected: Wire) -> None:
    reply = selected.command("a", b"FETCH 1:4294967295 (FLAGS)")
    assert reply.status in (b"OK", b"BAD"), reply
    if reply.is_ok:
        assert _fetch_count(reply.untagged) <= 3


@pytest.mark.parametrize("number", [b"4294967296", b"18446744073709551616", b"9" * 5000, b"0"])
def test_numbers_out_of_range_are_bad(selected: Wire, number: bytes) -> None:
    reply = selected.command("a", b"UID FETCH " + number + b" (FLAGS)")
    assert reply.status == b"BAD", reply
    assert selected.is_alive()


def test_too_many_ranges_are_bad(selected: Wire) -> None:
    sets = b",".join([b"1:*"] * 10000)
    started = time.monotonic()
    reply = selected.command("a", b"UID FETCH " + sets + b" (FLAGS)")
    assert time.monotonic() - started < 2
    assert reply.status == b"BAD", reply
    just_over = b",".join(b"%d" % (i * 2 + 1) for i in range(MAX_RANGES + 1))
    assert selected.command("b", b"UID FETCH " + just_over + b" (FLAGS)").status == b"BAD"
    assert selected.is_alive()


def test_the_configured_number_of_ranges_still_works(selected: Wire) -> None:
    sets = b",".join(b"%d" % (i * 2 + 1) for i in range(MAX_RANGES))
    reply = selected.command("a", b"UID FETCH " + sets + b" (FLAGS)")
    assert reply.is_ok, reply
    assert 1 <= _fetch_count(reply.untagged) <= 3
