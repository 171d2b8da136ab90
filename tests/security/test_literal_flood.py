"""SECURITY.md row #9 — attacker-declared literal sizes and counts drive allocation.

CVE-2002-1580 (Cyrus imapparse integer overflow), CVE-2024-34055 (Cyrus < 3.8.3: many literals
→ unbounded memory), CVE-2024-37358 (Apache James: literal abuse, unauthenticated too).
Python's forms: unbounded ``int()`` of a size (CPython ≥ 3.11 raises ValueError past 4,300
digits) and buffering what was announced before checking it.

Safe behaviour: an oversized literal is refused when its ``{n}`` header arrives — tagged
``NO``/``BAD [TOOBIG]`` and **no** ``+`` continuation; absurd sizes are BAD; a refused
non-synchronising literal's bytes are never executed as commands; one command made of 10,000
``{4096+}`` literals (40 MB; the table's Cyrus ``maxargssize`` case) is refused or the
connection closed, and the server's memory does not grow by the amount sent.
Limits under test (config defaults): literal 64 KiB outside APPEND, message 50 MiB.
"""

from __future__ import annotations

import pytest
from tests.security.wire import ConnectionClosed, Server, Wire

MAX_LITERAL = 64 * 1024
MAX_MESSAGE = 50 * 1024 * 1024


def _announce(wire: Wire, tag: str, head: bytes) -> bytes:
    """Send a command ending in a literal header; return the server's first answer line."""
    wire.send(tag.encode() + b" " + head + b"\r\n")
    return wire.read_line()


@pytest.mark.parametrize("size", [4294967296, MAX_LITERAL + 1, 2**64])
def test_oversized_literal_before_login_refused_without_continuation(
        server: Server, size: int) -> None:
    wire = server.tls()
    first = _announce(wire, "a", b"LOGIN {%d}" % size)
    assert not first.startswith(b"+"), "continuation granted for an oversized literal"
    assert first.startswith(b"a "), first
    assert first.split()[1] in (b"NO", b"BAD"), first
    assert b"[TOOBIG]" in first.upper() or first.split()[1] == b"BAD", first
    assert wire.is_alive()


@pytest.mark.parametrize("digits", [
    pytest.param(b"99999999999999999999", id="20-digits"),
    pytest.param(b"9" * 5000, id="5000-digits"),
    pytest.param(b"-1", id="negative"),
    pytest.param(b"0x10", id="hex"),
])
def test_absurd_literal_sizes_are_bad(server: Server, digits: bytes) -> None:
    wire = server.tls()
    first = _announce(wire, "a", b"LOGIN {" + digits + b"}")
    assert not first.startswith(b"+"), first
    assert first.startswith(b"a ") and first.split()[1] in (b"BAD", b"NO"), first
    assert wire.is_alive()


@pytest.mark.parametrize("size", [999999999999, MAX_MESSAGE + 1])
def test_oversized_append_refused_without_continuation(server: Server, size: int) -> None:
    wire = server.login("alice")
    first = _announce(wire, "a", b"APPEND INBOX {%d}" % size)
    assert not first.startswith(b"+"), "continuation granted for an oversized message"
    assert first.startswith(b"a NO [TOOBIG]") or first.startswith(b"a BAD"), first
    assert wire.is_alive()


def test_refused_non_synchronising_literal_is_never_executed(server: Server) -> None:
    """``{70000+}`` is over the non-APPEND limit. Its 70,000 bytes are all ``x NOOP`` lines:
    a server that refuses the header and then parses the body as commands runs them."""
    wire = server.tls()
    body = (b"x NOOP\r\n" * (70000 // 8 + 1))[:70000]
    wire.send(b"a LOGIN {70000+}\r\n")
    wire.try_send(body)
    wire.try_send(b"\r\nz NOOP\r\n")
    lines: list[bytes] = []
    try:
        while True:
            line = wire.read_line()
            lines.append(line)
            assert not line.startswith(b"x "), f"literal body executed as a command: {line!r}"
            if line.startswith(b"z "):
                break
    except ConnectionClosed:
        pass  # closing the connection is a safe answer
    assert any(line.startswith(b"a ") or line.startswith(b"* BYE") for line in lines), lines


def test_many_literals_in_one_command_do_not_grow_memory(server: Server) -> None:
    wire = server.login("alice")
    assert wire.command("s", b"SELECT INBOX").is_ok
    before = server.rss_kib()
    chunk = b"".join(b" TEXT {4096+}\r\n" + b"q" * 4096 for _ in range(100))
    sent = wire.try_send(b"a SEARCH")
    for _ in range(100):  # 100 x 100 literals of 4 KiB = 40 MB
        if not sent:
            break
        sent = wire.try_send(chunk)
    peak = server.rss_kib()
    if sent:
        wire.try_send(b"\r\n")
    try:
        reply = wire.read_tagged("a", timeout_s=30)
        assert reply.status in (b"BAD", b"NO"), reply
    except ConnectionClosed:
        pass
    growth = max(peak, server.rss_kib()) - before
    assert growth < 30 * 1024, f"server RSS grew {growth} KiB while 40 MB of literals arrived"
