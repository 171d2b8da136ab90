"""SECURITY.md row #5 — CVE-2023-40217 (CPython ``ssl.SSLSocket`` pre-close flaw).

Data sent in cleartext and the socket closed before the TLS handshake could be read by the
server as if it had arrived inside TLS. Fixed in CPython 3.8.18 / 3.9.18 / 3.10.13 / 3.11.5 /
3.12.0. Safe behaviour: the server runs on a fixed interpreter, and cleartext sent to the
implicit-TLS port followed by a half-close is never processed: no IMAP answer, the connection is
dropped.
"""

from __future__ import annotations

import socket
import subprocess
import sys

from tests.security.wire import Server


def test_interpreter_has_the_fix(server: Server) -> None:
    exe = f"/proc/{server.pid}/exe"
    probe = [exe, "-c", "import sys; print(*sys.version_info[:3])"]
    out = subprocess.run(probe, capture_output=True, timeout=30,  # noqa: S603 - our interpreter
                         check=True).stdout.split()
    version = tuple(int(part) for part in out)
    assert version >= (3, 11, 5), version
    assert sys.version_info >= (3, 11, 5)


def test_cleartext_then_half_close_is_never_processed(server: Server) -> None:
    sock = server.tcp(server.proc.imaps_port)
    try:
        sock.sendall(b"a LOGIN alice " + server.passwords["alice"].encode()
                     + b"\r\nb SELECT INBOX\r\n")
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(10)
        received = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
    finally:
        sock.close()
    for answer in (b"a OK", b"a NO", b"a BAD", b"b OK", b"* OK", b"* PREAUTH"):
        assert answer not in received, received
