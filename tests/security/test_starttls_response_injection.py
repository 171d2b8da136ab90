"""SECURITY.md row #2 — STARTTLS response injection (server side).

CVE-2020-14954 (Mutt/NeoMutt), CVE-2020-15953 (LibEtPan), MailKit GHSA-9j88, CVE-2021-38371
(Exim client): clients kept bytes that followed ``OK Begin TLS`` and treated them as responses
sent inside TLS. The client half is the scanner's self-test (tests/scan); the server's half is
that it never emits anything after its tagged ``OK`` to STARTTLS, even when the client pipelined
commands that would normally be answered.

How it is seen from outside: after the ``a OK`` line nothing else is buffered, and the TLS
handshake succeeds (a stray cleartext byte would be read as a TLS record and break it).
"""

from __future__ import annotations

import pytest
from tests.security.wire import Server


@pytest.mark.parametrize("pipelined", [
    pytest.param(b"", id="alone"),
    pytest.param(b"b NOOP\r\nc CAPABILITY\r\n", id="with-pipelined-commands"),
])
def test_nothing_follows_the_starttls_ok(server: Server, pipelined: bytes) -> None:
    wire = server.plain()
    wire.send(b"a STARTTLS\r\n" + pipelined)
    line = wire.read_line()
    while line.startswith(b"* "):  # untagged data before the completion is allowed
        assert not line.upper().startswith(b"* CAPABILITY"), line
        line = wire.read_line()
    assert line.startswith(b"a OK"), line
    assert wire.buf == b"", f"bytes after the STARTTLS OK: {bytes(wire.buf)!r}"
    wire.starttls(server.proc.ssl_context())  # raises if cleartext followed the OK
    reply = wire.command("d", b"NOOP")
    assert reply.is_ok
    assert not any(line.startswith((b"b ", b"c ")) for line in reply.untagged), reply
