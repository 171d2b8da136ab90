"""SECURITY.md row #20 — CVE-2017-15132 (Dovecot ≤ 2.2.33): every aborted SASL exchange leaked
its per-attempt state.

Safe behaviour: ``AUTHENTICATE PLAIN`` answered with ``*`` ends in a tagged BAD (RFC 9051
§6.2.2); an abort counts as a failed attempt, so the per-connection budget of 3 closes the
connection; and the server's memory stays flat over many aborted exchanges. Scaled from
100,000 aborts to 600 (200 connections × 3) after a warm-up: a leak of even a few KiB per
attempt shows.
"""

from __future__ import annotations

from tests.security.wire import ConnectionClosed, Server, Wire

MAX_AUTH_FAILURES = 3


def _abort(wire: Wire, tag: str) -> bytes:
    wire.send(tag.encode() + b" AUTHENTICATE PLAIN\r\n")
    first = wire.read_line()
    assert first.startswith(b"+"), first
    wire.send(b"*\r\n")
    return wire.read_tagged(tag).tagged


def test_abort_is_answered_with_bad(server: Server) -> None:
    wire = server.tls()
    assert _abort(wire, "a").startswith(b"a BAD"), "abort must end in BAD"
    assert wire.is_alive()


def test_aborts_count_toward_the_failure_budget(server: Server) -> None:
    wire = server.tls()
    for i in range(MAX_AUTH_FAILURES):
        try:
            _abort(wire, f"a{i}")
        except ConnectionClosed:
            assert i == MAX_AUTH_FAILURES - 1, f"closed after {i + 1} aborts"
            return
    data = wire.expect_closed()
    assert data == b"" or b"BYE" in data, data


def test_memory_is_flat_over_many_aborts(server: Server) -> None:
    def round_of(connections: int) -> None:
        for _ in range(connections):
            wire = server.tls()
            for i in range(MAX_AUTH_FAILURES):
                try:
                    _abort(wire, f"a{i}")
                except ConnectionClosed:
                    break
            wire.close()

    round_of(50)
    before = server.rss_kib()
    round_of(200)
    growth = server.rss_kib() - before
    assert growth < 6 * 1024, f"RSS grew {growth} KiB over 600 aborted exchanges"
