"""SECURITY.md row #24 — message-parser recursion and unbounded work on delivery and FETCH.

CVE-2020-12100 (Dovecot < 2.3.11.3: deep MIME nesting recursion), CVE-2020-25275 (10,000 MIME
parts crash), CVE-2024-23184 (many address headers: 100k lines ≈ 12 s of CPU), CVE-2024-23185
(huge headers, memory), CVE-2008-4907 (malformed From → FETCH ENVELOPE crash).

Safe behaviour: each message is accepted or refused (OK/NO) within a time budget; when stored,
FETCH BODYSTRUCTURE and ENVELOPE and a SEARCH answer quickly (the table's 1 s, here 3 s on a
shared machine) and the session stays usable. Sizes scaled to keep the suite fast while still
far past the limits the table recommends (nesting 100, parts 10,000): 10,000-deep nesting,
30,000 parts (table: 100,000), 100,000 ``To:`` lines (table: 500,000), one 10 MB header (table:
60 MB, which is over the 50 MiB message limit and covered by test_literal_flood).
"""

from __future__ import annotations

import time

import pytest
from tests.security.wire import Server

APPEND_BUDGET_S = 30.0
FETCH_BUDGET_S = 3.0


def _deep(levels: int) -> bytes:
    head = b"From: a@example.com\r\nSubject: deep\r\nMIME-Version: 1.0\r\n"
    opening = b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
                       for i in range(levels))
    closing = b"".join(b"\r\n--b%d--\r\n" % i for i in reversed(range(levels)))
    return head + opening + b"Content-Type: text/plain\r\n\r\nx" + closing


def _many_parts(parts: int) -> bytes:
    return (b"From: a@example.com\r\nSubject: parts\r\nMIME-Version: 1.0\r\n"
            b'Content-Type: multipart/mixed; boundary="p"\r\n\r\n'
            + b"--p\r\n\r\nx\r\n" * parts + b"--p--\r\n")


MESSAGES = {
    "nesting-10000": _deep(10000),
    "parts-30000": _many_parts(30000),
    "to-lines-100000": b"From: a@example.com\r\n" + b"To: r@example.com\r\n" * 100000
                       + b"Subject: to\r\n\r\nbody\r\n",
    "addresses-in-one-header": b"From: a@example.com\r\nTo: " + b"r@example.com, " * 100000
                               + b"z@example.com\r\nSubject: list\r\n\r\nbody\r\n",
    "header-10mb": b"From: a@example.com\r\nX-Big: " + b"a" * (10 * 1024 * 1024)
                   + b"\r\nSubject: big\r\n\r\nbody\r\n",
    "folded-header": b"From: a@example.com\r\nSubject: fold\r\nX-F: a\r\n" + b" b\r\n" * 200000
                     + b"\r\nbody\r\n",
    "bare-from-angle": b"From: <\r\nTo: <<<@>>>\r\nCc: \"unterminated\r\nSubject: =?utf-8?q?x\r\n"
                       b"Date: not a date\r\n\r\nbody\r\n",
    "encoded-word-bomb": b"From: a@example.com\r\nSubject: " + b"=?utf-8?b?YQ==?= " * 50000
                         + b"\r\n\r\nbody\r\n",
}


@pytest.mark.parametrize("name", list(MESSAGES))
def test_hostile_message(server: Server, name: str) -> None:
    message = MESSAGES[name]
    wire = server.login("alice")
    mailbox = b"Bomb-" + name.encode()
    assert wire.command("c", b"CREATE " + mailbox).is_ok
    started = time.monotonic()
    wire.send(b"a APPEND " + mailbox + b" {%d+}\r\n" % len(message) + message + b"\r\n")
    reply = wire.read_tagged("a", timeout_s=APPEND_BUDGET_S + 30)
    assert time.monotonic() - started < APPEND_BUDGET_S
    assert reply.status in (b"OK", b"NO"), reply
    if not reply.is_ok:
        assert wire.is_alive()
        return
    assert wire.command("s", b"SELECT " + mailbox).is_ok
    for i, command in enumerate([b"FETCH 1 (BODYSTRUCTURE)", b"FETCH 1 (ENVELOPE)",
                                 b"FETCH 1 (BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT)])",
                                 b"SEARCH FROM example", b"SEARCH TO nobody",
                                 b"SEARCH HEADER X-Nothing y"]):
        started = time.monotonic()
        answer = wire.command(f"f{i}", command, timeout_s=FETCH_BUDGET_S + 30)
        elapsed = time.monotonic() - started
        assert answer.is_ok, (command, answer.tagged)
        assert elapsed < FETCH_BUDGET_S, (command, elapsed)
    assert wire.is_alive()
