"""SECURITY.md row #27 — slowloris and IDLE exhaustion (anchors: CVE-2014-3430; Stalwart
``imap.timeout.anonymous = 1m``; Dovecot pre-login 180 s, ``mail_max_userip_connections``).

Connections held open cheaply, one byte at a time or in a never-ending IDLE. Safe behaviour, on
a server configured with short timeouts so the test is quick (pre-login 2 s, IDLE 3 s, 20
connections per address): a silent connection is closed; a connection that dribbles a byte
every 0.25 s without ever finishing a command is closed too (the pre-login deadline is not reset
by each byte); the connection over the per-address cap is refused; an IDLE without DONE ends in
``* BYE``. Not covered yet: the 11th authenticated connection of one user from one address
(no such setting exists) and the IDLE keep-alive every ~2 minutes (not configurable).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from tests.security.wire import ConnectionClosed, Server, Wire, serving

PRE_AUTH_TIMEOUT_S = 2
IDLE_TIMEOUT_S = 3
PER_IP = 20
SLACK_S = 8.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    overrides: dict[str, dict[str, str | int | bool]] = {
        "server": {"pre_auth_timeout_s": PRE_AUTH_TIMEOUT_S, "idle_timeout_s": IDLE_TIMEOUT_S},
        "guard": {"max_pre_auth_per_address": PER_IP}}
    with serving(tmp_path_factory.mktemp("mailfort"), overrides=overrides) as srv:
        yield srv


def test_silent_connection_is_closed(server: Server) -> None:
    for connect in (server.tls, server.plain):
        started = time.monotonic()
        wire = connect()
        wire.expect_closed(timeout_s=PRE_AUTH_TIMEOUT_S + SLACK_S)
        assert time.monotonic() - started >= PRE_AUTH_TIMEOUT_S - 0.5


def test_dribbling_connection_is_closed(server: Server) -> None:
    wire = server.tls()
    started = time.monotonic()
    deadline = started + PRE_AUTH_TIMEOUT_S + SLACK_S
    sent = 0
    while time.monotonic() < deadline:
        if not wire.try_send(b"a LOGIN xxxxxxxx"[sent % 16:sent % 16 + 1]):
            return
        sent += 1
        try:  # pace the attack: a byte every 0.25 s, unless the server gives up on us
            wire.read_some(0.25)
        except ConnectionClosed:
            return
        assert not wire.buf or b"BYE" in wire.buf, bytes(wire.buf)
    raise AssertionError(f"dribbled {sent} bytes over {time.monotonic() - started:.1f} s "
                         "without being closed: the pre-login deadline restarts on every byte")


def test_connections_over_the_per_address_cap_are_refused(server: Server) -> None:
    held: list[Wire] = []
    try:
        for _ in range(PER_IP):
            held.append(server.tls(read_greeting=True))
        sock = server.tcp(server.proc.imaps_port)
        sock.settimeout(10)
        try:
            tls = server.proc.ssl_context().wrap_socket(sock, server_hostname="localhost")
            data = tls.recv(4096)
        except (OSError, ConnectionError):
            data = b""  # closed during or instead of the handshake
        assert data == b"" or data.startswith(b"* BYE"), data
    finally:
        for wire in held:
            wire.close()


def test_idle_without_done_ends_in_bye(server: Server) -> None:
    wire = server.login("alice")
    assert wire.command("s", b"SELECT INBOX").is_ok
    wire.send(b"i IDLE\r\n")
    assert wire.read_line().startswith(b"+")
    started = time.monotonic()
    lines: list[bytes] = []
    try:
        while True:
            lines.append(wire.read_line(timeout_s=IDLE_TIMEOUT_S + SLACK_S))
    except ConnectionClosed:
        pass
    assert any(line.startswith(b"* BYE") for line in lines), lines
    assert time.monotonic() - started < IDLE_TIMEOUT_S + SLACK_S
