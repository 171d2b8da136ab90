"""SECURITY.md row #10 — reading a line without a length cap.

CVE-2013-1752 (Python imaplib/poplib/smtplib unbounded ``readline``, client side) and Dovecot's
``imap_max_line_length = 64K``. Safe behaviour: 10 MB without CRLF gets a BAD (untagged or
tagged: there may be no tag yet) and the connection is closed long before the 10 MB have been
read; the server's memory stays near the 64 KiB cap, not the amount sent. Same on the cleartext
port before TLS. A line just over the cap that does end in CRLF is refused too.
"""

from __future__ import annotations

from tests.security.wire import ConnectionClosed, Server, Wire

MAX_LINE = 64 * 1024
# The client keeps sending past 10 MB, up to this: loopback socket buffers (tcp_rmem and
# tcp_wmem maxima, 6 + 4 MiB here) can absorb 10 MB while a loaded machine keeps the server
# from running, so only a server that is really reading takes this much without closing.
SEND_LIMIT = 32 * 1024 * 1024


def _flood(server: Server, wire: Wire, prefix: bytes) -> None:
    before = server.rss_kib()
    chunk = b"A" * 65536
    sent = wire.try_send(prefix)
    total = 0
    while sent and total < SEND_LIMIT:
        sent = wire.try_send(chunk)
        total += len(chunk)
    growth = server.rss_kib() - before
    assert growth < 16 * 1024, f"RSS grew {growth} KiB reading one long line"
    assert not sent, "the server took 32 MiB of one line without closing the connection"
    data = wire.expect_closed()
    assert b"BAD" in data or b"BYE" in data, data[:200]


def test_ten_megabytes_without_crlf_on_tls(server: Server) -> None:
    _flood(server, server.tls(), b"a SELECT ")


def test_ten_megabytes_without_crlf_and_without_tag(server: Server) -> None:
    _flood(server, server.tls(), b"")


def test_ten_megabytes_without_crlf_before_starttls(server: Server) -> None:
    _flood(server, server.plain(), b"a CAPABILITY ")


def test_line_just_over_the_cap_is_refused(server: Server) -> None:
    wire = server.login("alice")
    line = b"a SELECT " + b"x" * (MAX_LINE + 1) + b"\r\n"
    if not wire.try_send(line):
        return  # closed while we were still sending: refused
    try:
        answer = wire.read_line()
    except ConnectionClosed as exc:
        assert b"BAD" in exc.rest or exc.rest == b"", exc.rest
        return
    assert b"BAD" in answer or b"BYE" in answer, answer[:200]
    assert not answer.startswith(b"a OK") and not answer.startswith(b"a NO"), answer[:200]
