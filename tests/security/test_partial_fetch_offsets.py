"""SECURITY.md row #25 — partial-fetch offsets and section numbers not range-checked.

CVE-2004-1013 / CAN-2004-1012 (Cyrus ``body[p`` index error → memory corruption),
CVE-2015-8076/8077/8078 (Cyrus urlfetch ``start_octet + n`` integer overflow). The Python
hazard: a negative start in ``data[a:a + n]`` silently returns the tail.

Safe behaviour: absurd offsets, lengths and section paths get BAD or an empty/NIL result —
never data from the wrong place, never a crash — and the session stays usable; a well-formed
partial returns exactly the requested octets.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from tests.security.wire import Server, Wire

MESSAGE = (b"From: a@example.com\r\nTo: b@example.com\r\nSubject: partial\r\n"
           b"Content-Type: text/plain\r\n\r\n0123456789abcdefghij\r\n")


@pytest.fixture()
def selected(server: Server) -> Iterator[Wire]:
    wire = server.login("alice")
    status = wire.command("st", b"STATUS INBOX (MESSAGES)")
    if b"MESSAGES 0" in b"".join(status.untagged):
        reply, _ = wire.literal_command("ap", b"APPEND INBOX ", MESSAGE)
        assert reply.is_ok, reply
    assert wire.command("s", b"SELECT INBOX").is_ok
    yield wire
    wire.close()


def _fetched_literal(reply_lines: tuple[bytes, ...]) -> bytes | None:
    """The data of the first body section in the FETCH responses (None for NIL)."""
    for line in reply_lines:
        if line.startswith(b"* ") and b"FETCH" in line:
            match = re.search(rb"\{(\d+)\}\r\n", line)
            if match:
                start = match.end()
                return line[start:start + int(match.group(1))]
            if re.search(rb'\] ""', line) or re.search(rb"<\d+> \"\"", line):
                return b""
            if re.search(rb"\]( <\d+>)? NIL", line) or re.search(rb"\](<\d+>)? NIL", line):
                return None
            quoted = re.search(rb'\](?:<\d+>)? "((?:[^"\\]|\\.)*)"', line)
            if quoted:
                return quoted.group(1)
    return None


@pytest.mark.parametrize("item", [
    b"BODY[]<4294967295.4294967295>",
    b"BODY[]<18446744073709551615.1>",
    b"BODY[]<4294967296.1>",
    b"BODY[]<99999999999999999999999.1>",
    b"BODY[1]<4294967295.1>",
    b"BINARY[1]<4294967295.4294967295>",
])
def test_huge_offsets_give_nothing_or_bad(selected: Wire, item: bytes) -> None:
    reply = selected.command("f", b"FETCH 1 (" + item + b")")
    assert reply.status in (b"OK", b"BAD"), reply
    if reply.is_ok:
        assert _fetched_literal(reply.untagged) in (b"", None), reply.untagged
    assert selected.is_alive()


@pytest.mark.parametrize("item", [
    b"BODY[]<-1.10>", b"BODY[]<1.-1>", b"BODY[]<-10>", b"BODY[]<>", b"BODY[]<1.>",
    b"BODY[]<.5>", b"BINARY[p", b"BODY[p", b"BODY[1.2.3.4.5.", b"BODY[-1]", b"BODY[0]",
    b"BODY[1.0]", b"BINARY[-1]", b"BODY.PEEK[]<-5.5>", b"BODY[]<0x10.1>",
])
def test_malformed_partials_are_bad(selected: Wire, item: bytes) -> None:
    reply = selected.command("f", b"FETCH 1 (" + item + b")")
    assert reply.status == b"BAD", reply
    assert selected.is_alive()


@pytest.mark.parametrize("item", [
    b"BODY[1.2.3.4.5.99999999]", b"BODY[99999999]", b"BODY[4294967296]",
    b"BODY[1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1]",
    b"BINARY[99999999]", b"BODY[2.MIME]", b"BODY[99.HEADER]",
])
def test_sections_that_do_not_exist(selected: Wire, item: bytes) -> None:
    reply = selected.command("f", b"FETCH 1 (" + item + b")")
    assert reply.status in (b"OK", b"BAD", b"NO"), reply
    if reply.is_ok:
        assert _fetched_literal(reply.untagged) in (b"", None), reply.untagged
    assert selected.is_alive()


def test_many_header_fields(selected: Wire) -> None:
    fields = b" ".join(b"X-F%d" % i for i in range(5000))
    reply = selected.command("f", b"FETCH 1 (BODY.PEEK[HEADER.FIELDS (" + fields + b")])")
    assert reply.status in (b"OK", b"BAD"), reply
    assert selected.is_alive()


def test_well_formed_partial_returns_exactly_those_octets(selected: Wire) -> None:
    whole = _fetched_literal(selected.command("a", b"FETCH 1 (BODY.PEEK[])").untagged)
    assert whole is not None and whole.endswith(b"0123456789abcdefghij\r\n")
    reply = selected.command("b", b"FETCH 1 (BODY.PEEK[]<2.5>)")
    assert reply.is_ok
    assert _fetched_literal(reply.untagged) == whole[2:7]
    past_end = selected.command("c", b"FETCH 1 (BODY.PEEK[]<%d.10>)" % (len(whole) - 3))
    assert _fetched_literal(past_end.untagged) == whole[-3:]
    beyond = selected.command("d", b"FETCH 1 (BODY.PEEK[]<%d.10>)" % (len(whole) + 5))
    assert _fetched_literal(beyond.untagged) in (b"", None)
