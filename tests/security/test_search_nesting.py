"""SECURITY.md row #11 — deeply nested SEARCH keys exhaust the stack.

No CVE: Apache James PR #3007 "Prevent stackoverflow in IMAP SEARCH", Dovecot 9a0f8c1066 and
its new ``imap_search_nesting_limit``, Cyrus PR #6226 "limit recursion in imap search". The
Python form is ``RecursionError`` (default limit 1,000) escaping the parser or evaluator.

Safe behaviour: 10,000 nested parentheses, 10,000 ``NOT`` and a 5,000-deep ``OR`` chain each get
a tagged answer (BAD for the parentheses: the depth cap is 16; BAD or a correct result for the
others), quickly, with no traceback, and the session stays usable. FETCH with nested parentheses
is capped the same way. Nesting within the cap still works.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from tests.security.wire import Server, Wire

MESSAGE = b"From: a@example.com\r\nSubject: nesting\r\n\r\nhello\r\n"


@pytest.fixture()
def selected(server: Server) -> Iterator[Wire]:
    wire = server.login("alice")
    reply, _ = wire.literal_command("ap", b"APPEND INBOX ", MESSAGE)
    assert reply.is_ok, reply
    assert wire.command("s", b"SELECT INBOX").is_ok
    yield wire
    wire.close()


def _timed(wire: Wire, text: bytes) -> tuple[bytes, float]:
    started = time.monotonic()
    reply = wire.command("a", text, timeout_s=20)
    return reply.status, time.monotonic() - started


def test_ten_thousand_parentheses(selected: Wire) -> None:
    status, elapsed = _timed(selected, b"SEARCH " + b"(" * 10000 + b"ALL" + b")" * 10000)
    assert status == b"BAD"
    assert elapsed < 5
    assert selected.is_alive()


def test_ten_thousand_nots(selected: Wire) -> None:
    status, elapsed = _timed(selected, b"SEARCH " + b"NOT " * 10000 + b"ALL")
    assert status in (b"BAD", b"OK")
    assert elapsed < 5
    assert selected.is_alive()


def test_five_thousand_deep_or_chain(selected: Wire) -> None:
    status, elapsed = _timed(selected, b"SEARCH " + b"OR " * 5000 + b"ALL " * 5001)
    assert status in (b"BAD", b"OK")
    assert elapsed < 5
    assert selected.is_alive()


def test_nested_or_of_parenthesised_keys(selected: Wire) -> None:
    status, elapsed = _timed(selected, b"SEARCH " + b"OR (" * 3000 + b"ALL" + b") ALL" * 3000)
    assert status in (b"BAD", b"OK")
    assert elapsed < 5
    assert selected.is_alive()


def test_fetch_with_ten_thousand_parentheses(selected: Wire) -> None:
    status, elapsed = _timed(selected, b"FETCH 1 " + b"(" * 10000 + b"FLAGS" + b")" * 10000)
    assert status == b"BAD"
    assert elapsed < 5
    assert selected.is_alive()


def test_nesting_within_the_cap_still_works(selected: Wire) -> None:
    reply = selected.command("a", b"SEARCH (((NOT DELETED) (ALL)))")
    assert reply.is_ok, reply
    assert any(line.startswith(b"* SEARCH 1") or line.startswith(b"* ESEARCH")
               for line in reply.untagged), reply.untagged
