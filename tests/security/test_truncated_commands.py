"""SECURITY.md row #13 — CVE-2021-40111 (Apache James, found with Jazzer): crafted APPEND and
STATUS arguments sent the parser into an infinite loop / out of memory.

Safe behaviour: each truncated or unbalanced command of the corpus gets a tagged BAD (NO is
accepted where the syntax is valid but the request is not) within 2 s (the table's 1 s, with
slack for a shared machine), and the session stays usable. A NOOP between corpus entries keeps
the consecutive-BAD budget from closing the connection.
"""

from __future__ import annotations

import time

import pytest
from tests.security.wire import Server, Wire

# Sent as one line each (CRLF appended). ``{0}`` literals are answered by the harness.
CORPUS = [
    b"STATUS INBOX (",
    b"STATUS INBOX (MESSAGES",
    b"STATUS INBOX (MESSAGES))",
    b"STATUS INBOX ((((((",
    b"STATUS INBOX MESSAGES)",
    b"STATUS (",
    b"STATUS",
    b"APPEND INBOX (\\Seen",
    b"APPEND INBOX (\\Seen \\Flagged",
    b"APPEND INBOX )",
    b'APPEND INBOX "date"',
    b"APPEND INBOX (",
    b"APPEND",
    b'LIST "" "',
    b'LIST "',
    b"LIST",
    b"FETCH 1 (FLAGS",
    b"FETCH 1 FLAGS)",
    b"FETCH 1 BODY[",
    b"FETCH 1 BODY[HEADER.FIELDS (",
    b"FETCH 1 BODY[]<",
    b"FETCH 1:",
    b"FETCH ,",
    b"STORE 1 +FLAGS (\\Seen",
    b"SEARCH (",
    b"SEARCH )",
    b"SEARCH OR",
    b"SEARCH HEADER",
    b"SEARCH CHARSET",
    b'SELECT "',
    b"SELECT",
    b"UID",
    b"UID FETCH",
    b'RENAME "a"',
    b"\"",
    b"(",
    b")",
    b"{",
    b"~{",
]


def _run(wire: Wire, tag: str, line: bytes) -> bytes:
    wire.send(tag.encode() + b" " + line + b"\r\n")
    while True:
        response = wire.read_response(timeout_s=2)
        if response.startswith(b"+"):
            wire.send(b"\r\n")  # an empty literal and the end of the line
            continue
        if response.startswith(tag.encode() + b" "):
            return response.split()[1]


@pytest.mark.parametrize("line", CORPUS, ids=[repr(x)[2:-1] or "empty" for x in CORPUS])
def test_truncated_command_is_answered_quickly(server: Server, line: bytes) -> None:
    wire = server.login("alice")
    assert wire.command("s", b"SELECT INBOX").is_ok
    started = time.monotonic()
    status = _run(wire, "t", line)
    assert time.monotonic() - started < 2
    assert status in (b"BAD", b"NO"), (line, status)
    assert wire.is_alive()


def test_append_with_bad_date_and_empty_literal(server: Server) -> None:
    wire = server.login("alice")
    status = _run(wire, "a", b'APPEND INBOX "date" {0}')
    assert status in (b"BAD", b"NO")
    assert wire.is_alive()


def test_truncated_commands_before_login(server: Server) -> None:
    wire = server.tls()
    for i, line in enumerate([b"LOGIN", b'LOGIN "a', b"LOGIN a", b"AUTHENTICATE",
                              b'LOGIN {', b"STATUS INBOX (", b"APPEND INBOX (\\Seen"]):
        assert _run(wire, f"t{i}", line) in (b"BAD", b"NO"), line
        assert wire.is_alive()
