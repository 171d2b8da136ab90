"""SECURITY.md row #23 — CVE-2021-33582 (Cyrus < 3.4.2): a predictable string hash let an
attacker put tens of thousands of keys in one bucket → minutes of CPU per command.

Python's dicts use SipHash with a random seed (PEP 456), so the server must never run with
``PYTHONHASHSEED=0``; the counts an attacker controls must be capped. Safe behaviour: the
server process's hash seed is randomised, and 50,000 distinct keywords stored on one message
(in STOREs of 5,000, each under the 64 KiB line limit) are refused past a cap — some STORE
answers NO — with every command answered quickly and the session alive; an overlong keyword
(the table cites Dovecot's 50-character cap) is refused.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.security.wire import Server


def test_hash_seed_is_random(server: Server) -> None:
    environ = Path(f"/proc/{server.pid}/environ").read_bytes().split(b"\0")
    seeds = [entry for entry in environ if entry.startswith(b"PYTHONHASHSEED=")]
    assert seeds in ([], [b"PYTHONHASHSEED=random"]), seeds


def test_fifty_thousand_keywords_are_capped(server: Server) -> None:
    wire = server.login("alice")
    reply, _ = wire.literal_command("a", b"APPEND INBOX ", b"From: a@example.com\r\n\r\nx\r\n")
    assert reply.is_ok
    assert wire.command("s", b"SELECT INBOX").is_ok
    statuses = []
    for batch in range(10):
        keywords = b" ".join(b"k%05d" % (batch * 5000 + i) for i in range(5000))
        started = time.monotonic()
        answer = wire.command(f"k{batch}", b"STORE * +FLAGS.SILENT (" + keywords + b")",
                              timeout_s=30)
        assert time.monotonic() - started < 5, "STORE of 5,000 keywords took too long"
        statuses.append(answer.status)
        if answer.status != b"OK":
            break
    assert statuses[-1] in (b"NO", b"BAD"), f"50,000 keywords all accepted: {statuses}"
    fetch = wire.command("f", b"FETCH * (FLAGS)")
    assert fetch.is_ok
    assert wire.is_alive()


def test_overlong_keyword_is_refused(server: Server) -> None:
    wire = server.login("bob")
    reply, _ = wire.literal_command("a", b"APPEND INBOX ", b"From: a@example.com\r\n\r\nx\r\n")
    assert reply.is_ok
    assert wire.command("s", b"SELECT INBOX").is_ok
    answer = wire.command("k", b"STORE * +FLAGS (" + b"k" * 10000 + b")")
    assert answer.status in (b"NO", b"BAD"), answer
