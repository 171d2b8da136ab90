"""SECURITY.md row #1 — STARTTLS command injection.

CVE-2011-0411 (Postfix), CVE-2011-1926 (Cyrus < 2.4.7), CVE-2021-33515 (Dovecot submission),
CVE-2021-38084 (Courier), CVE-2021-38542 and CVE-2022-28220 (Apache James; the second an
incomplete fix): cleartext bytes pipelined behind ``STARTTLS`` stayed in the server's input
buffer and were executed inside the TLS session. An attacker on the path injects
``LOGIN attacker pw`` and the victim's mail lands in the attacker's account (session fixation).

Safe behaviour: ``a OK`` then TLS, and none of the injected commands is ever answered or
executed inside TLS (the buffer is discarded, or the connection is closed). The injected LOGIN
uses alice's *real* password, so executing it would leave the TLS session authenticated: the
test checks that it is not.
"""

from __future__ import annotations

import pytest
from tests.security.wire import ConnectionClosed, Server, Wire, quote


def _injected_login(server: Server) -> bytes:
    return b"b LOGIN alice " + quote(server.passwords["alice"]) + b"\r\n"


def _assert_nothing_injected(server: Server, wire: Wire) -> None:
    """Inside TLS: the injected commands were neither answered nor executed. A server that
    closes the connection instead is safe too."""
    try:
        wire.starttls(server.proc.ssl_context())
        reply = wire.command("z", b"SELECT INBOX")
    except (ConnectionClosed, OSError):
        return  # dropped the connection: nothing was executed
    for line in reply.untagged:
        assert not line.startswith((b"b ", b"c ")), f"injected command answered: {line!r}"
    # Not authenticated: the injected LOGIN was never run.
    assert reply.status in (b"BAD", b"NO"), reply
    # Still the not-authenticated state of a fresh TLS session: login is on offer.
    caps = wire.command("y", b"CAPABILITY")
    assert caps.is_ok and any(b"AUTH=PLAIN" in line for line in caps.untagged_with(b"CAPABILITY"))


def test_pipelined_in_one_write(server: Server) -> None:
    wire = server.plain()
    wire.send(b"a STARTTLS\r\n" + _injected_login(server) + b"c CAPABILITY\r\n")
    first = wire.read_line()
    assert first.startswith(b"a OK"), first
    _assert_nothing_injected(server, wire)


def test_pipelined_in_separate_segments_before_ok_is_read(server: Server) -> None:
    wire = server.plain()
    wire.send(b"a STARTTLS\r\n")
    wire.send(_injected_login(server))
    wire.send(b"c CAPABILITY\r\n")
    first = wire.read_line()
    assert first.startswith(b"a OK"), first
    _assert_nothing_injected(server, wire)


def test_literal_spanning_the_tls_boundary(server: Server) -> None:
    """The cleartext announces a non-synchronising literal; the literal's bytes would be taken
    from inside TLS, swallowing the victim's first command."""
    wire = server.plain()
    wire.send(b"a STARTTLS\r\nb LOGIN alice {40+}\r\n")
    first = wire.read_line()
    assert first.startswith(b"a OK"), first
    try:
        wire.starttls(server.proc.ssl_context())
        reply = wire.command("c", b"NOOP")
        capability = wire.command("d", b"CAPABILITY")
    except (ConnectionClosed, OSError):
        return
    assert reply.is_ok, reply
    assert capability.is_ok
    assert not any(line.startswith(b"b ") for line in reply.untagged + capability.untagged)


@pytest.mark.parametrize("extra", [
    pytest.param(b"b LOGIN alice x\r\n", id="cleartext-command"),
    pytest.param(b"\x16\x03\x01\x00\x05hello", id="garbage-record"),
])
def test_bytes_sent_during_the_handshake(server: Server, extra: bytes) -> None:
    """Cleartext sent after ``a OK`` but before the ClientHello is not a TLS record: the
    handshake must fail and the connection close, never run a command."""
    wire = server.plain()
    wire.send(b"a STARTTLS\r\n")
    assert wire.read_line().startswith(b"a OK")
    wire.send(extra)
    data = wire.expect_closed()
    assert b"b OK" not in data and b"b NO" not in data and b"b BAD" not in data
