"""SECURITY.md row #6 — CVE-2014-3430 (Dovecot < 2.2.13): incomplete TLS handshakes were never
closed, so idle sockets exhausted the server.

Safe behaviour: a connection that never finishes its handshake is closed by a timeout (≤ 30 s;
here the pre-login timeout is configured to 3 s), a legitimate client still logs in meanwhile,
and the server's descriptor count returns to its baseline. Scaled from the table's 1,000 sockets
to 200 (80 silent and 60 half-ClientHello on the TLS port, 60 STARTTLS-then-silent on the
cleartext port): the point — every one is reaped — is the same, and 2 cores stay usable.
"""

from __future__ import annotations

import selectors
import socket
import time
from collections.abc import Iterator

import pytest
from tests.security.wire import Server, serving

PRE_AUTH_TIMEOUT_S = 3
WORST_CASE_S = 35.0  # the table's upper bound (30 s) plus slack for a loaded machine
# A TLS record header announcing a 512-byte handshake message, then only its first bytes.
HALF_CLIENT_HELLO = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(20))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    overrides: dict[str, dict[str, str | int | bool]] = {
        "server": {"pre_auth_timeout_s": PRE_AUTH_TIMEOUT_S},
        "guard": {"max_pre_auth_per_address": 1000, "max_connections_per_address": 1000}}
    with serving(tmp_path_factory.mktemp("mailfort"), overrides=overrides) as srv:
        yield srv


def _wait_all_closed(socks: list[socket.socket], deadline: float) -> None:
    sel = selectors.DefaultSelector()
    for sock in socks:
        sock.setblocking(False)
        sel.register(sock, selectors.EVENT_READ)
    open_count = len(socks)
    try:
        while open_count:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"{open_count} of {len(socks)} handshakes still open"
            for key, _ in sel.select(remaining):
                ready = key.fileobj
                assert isinstance(ready, socket.socket)
                try:
                    data = ready.recv(65536)
                except (ConnectionResetError, BlockingIOError) as exc:
                    if isinstance(exc, BlockingIOError):
                        continue
                    data = b""
                if not data:  # closed by the server
                    sel.unregister(ready)
                    open_count -= 1
    finally:
        sel.close()


def test_incomplete_handshakes_are_reaped(server: Server) -> None:
    baseline_fds = server.fd_count()
    socks: list[socket.socket] = []
    try:
        for _ in range(80):
            socks.append(server.tcp(server.proc.imaps_port))
        for _ in range(60):
            sock = server.tcp(server.proc.imaps_port)
            sock.sendall(HALF_CLIENT_HELLO)
            socks.append(sock)
        for _ in range(60):
            sock = server.tcp(server.proc.imap_port)
            sock.settimeout(10)
            sock.recv(4096)  # the greeting
            sock.sendall(b"a STARTTLS\r\n")
            assert sock.recv(4096).startswith(b"a OK")
            socks.append(sock)  # ... and no ClientHello ever
        started = time.monotonic()
        # Meanwhile a real client is served.
        wire = server.login("alice")
        assert wire.command("a", b"SELECT INBOX").is_ok
        wire.command("b", b"LOGOUT")
        wire.close()
        _wait_all_closed(socks, started + WORST_CASE_S)
    finally:
        for sock in socks:
            sock.close()
    fds_deadline = time.monotonic() + 10
    while server.fd_count() > baseline_fds + 5:  # poll a counter, bounded by the deadline
        assert time.monotonic() < fds_deadline, (baseline_fds, server.fd_count())
        time.sleep(0.05)
