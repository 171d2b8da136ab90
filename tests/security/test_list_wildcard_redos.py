"""SECURITY.md row #12 — CVE-2021-40110 (Apache James, found with Jazzer): LIST wildcards
translated to a backtracking regular expression → ReDoS.

Safe behaviour: ``LIST "" "*%*%...*!"`` over many long mailbox names completes quickly and
correctly. Scaled from 1,000 mailboxes of 200 characters to 150 (a backtracking matcher needs
astronomically long on even one such name, so the count does not change the outcome). The
table's 100 ms is for an idle machine; the bound here is 3 s on a shared 2-core box, still
many orders of magnitude below what backtracking costs.
"""

from __future__ import annotations

import time

from tests.security.wire import Server, quote

COUNT = 150
PATTERN = b"*%" * 19 + b"*!"


def _name(i: int) -> bytes:
    return b"R" + b"a" * 196 + b"%03d" % i


def test_many_wildcards_over_long_names(server: Server) -> None:
    wire = server.login("alice")
    wire.send(b"".join(b"c%d CREATE %s\r\n" % (i, quote(_name(i))) for i in range(COUNT)))
    for i in range(COUNT):
        reply = wire.read_tagged(f"c{i}", timeout_s=30)
        assert reply.is_ok, reply
    started = time.monotonic()
    reply = wire.command("l", b'LIST "" ' + quote(PATTERN), timeout_s=60)
    elapsed = time.monotonic() - started
    assert reply.is_ok, reply
    assert not reply.untagged_with(b"Raaaa"), "no name ends in '!'"
    assert elapsed < 3, f"LIST took {elapsed:.2f} s"
    # ... and the matcher is still right: wildcards spanning a prefix and a suffix.
    started = time.monotonic()
    hits = wire.command("m", b'LIST "" ' + quote(b"R*%*%*%*0%7"), timeout_s=60)
    assert time.monotonic() - started < 3
    assert hits.is_ok
    names = sorted(line.rsplit(b" ", 1)[-1].strip(b'"') for line in hits.untagged_with(b"Raaaa"))
    expected = [n for n in map(_name, range(COUNT)) if n.endswith(b"7") and b"0" in n[-3:-1]]
    assert names == sorted(expected), names


def test_percent_does_not_cross_the_hierarchy(server: Server) -> None:
    wire = server.login("bob")
    assert wire.command("a", b'CREATE "Top/Mid/Leaf"').is_ok
    reply = wire.command("b", b'LIST "" "Top/%"')
    assert reply.is_ok
    found = [line for line in reply.untagged if line.startswith(b"* LIST")]
    assert len(found) == 1 and found[0].rstrip(b'"').endswith(b"Top/Mid"), found
