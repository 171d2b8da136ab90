"""Hostile or sloppy input: long lines, huge literals, garbage, too many connections, idle
pre-auth connections. Each is answered with BAD/NO/BYE and the server keeps serving."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from tests.conftest import Account, RunningServer, make_settings, running_server
from tests.integration.conftest import connect_tls, login, quote
from tests.integration.imapwire import WireClient

from mailfort.config.model import GuardSettings, LimitSettings, ServerSettings


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    base = make_settings(tmp_path_factory.mktemp("strict") / "data")
    settings = dataclasses.replace(
        base,
        server=ServerSettings(imaps_listen="127.0.0.1:0", imap_listen="127.0.0.1:0",
                              pre_auth_timeout_s=2,
                              allow_plaintext_auth_on_loopback=True),
        guard=GuardSettings(max_connections_per_address=3),
        limits=LimitSettings(max_line_bytes=2048, max_literal_bytes=2048,
                             max_message_bytes=10_000))
    with running_server(settings, security=True) as srv:
        yield srv


def _alive(server: RunningServer) -> None:
    w = connect_tls(server)
    assert w.command(b"z", b"NOOP") == [b"z OK NOOP completed\r\n"]
    w.close()


def test_long_line_is_refused(strict_server: RunningServer) -> None:
    w = connect_tls(strict_server)
    w.send(b"a NOOP " + b"x" * 5000 + b"\r\n")
    line = w.readline()
    assert line.startswith((b"a BAD", b"* BAD", b"* BYE")), line
    w.close()
    _alive(strict_server)


def test_huge_literal_announced_but_not_sent(strict_server: RunningServer) -> None:
    acct = strict_server.add_user()
    w = login(strict_server, acct)
    w.send(b"a APPEND INBOX {999999999}\r\n")
    line = w.readline()
    assert line.startswith((b"a NO", b"a BAD", b"* BYE")) and b"TOOBIG" in line, line
    assert not line.startswith(b"+")
    w.close()
    _alive(strict_server)


def test_oversized_append_is_toobig(strict_server: RunningServer) -> None:
    acct = strict_server.add_user()
    w = login(strict_server, acct)
    w.send(b"a APPEND INBOX {20000}\r\n")
    assert b"TOOBIG" in w.readline()
    w.close()


def test_garbage_bytes(strict_server: RunningServer) -> None:
    w = connect_tls(strict_server)
    w.send(b"\x00\xff\xfe garbage \x01\x02\r\n")
    assert w.readline().startswith(b"* BAD")
    w.send(b"a NOOP\r\n")
    assert w.until_tagged(b"a")[-1] == b"a OK NOOP completed\r\n"
    w.close()
    _alive(strict_server)


def test_too_many_bad_commands_end_with_bye(strict_server: RunningServer) -> None:
    w = connect_tls(strict_server)
    limit = strict_server.settings.limits.max_bad_commands
    w.send(b"".join(b"t%d FROBNICATE\r\n" % i for i in range(limit + 2)))
    lines = []
    while True:
        try:
            lines.append(w.readline())
        except (EOFError, OSError):
            break
    assert any(line.startswith(b"* BYE") for line in lines), lines
    w.close()
    _alive(strict_server)


def test_pre_auth_timeout_says_bye(strict_server: RunningServer) -> None:
    w = connect_tls(strict_server)
    w.sock.settimeout(8)
    assert w.readline().startswith(b"* BYE ")
    w.close()


def test_too_many_connections_per_ip(strict_server: RunningServer) -> None:
    held = [connect_tls(strict_server) for _ in range(3)]
    try:
        extra = WireClient("127.0.0.1", strict_server.imaps_port,
                           tls=strict_server.client_context())
        assert extra.readline() == b"* BYE [LIMIT] Too many connections from your address\r\n"
        extra.close()
    finally:
        for w in held:
            w.close()


def test_unknown_mailbox_names_are_not_echoed(strict_server: RunningServer) -> None:
    acct: Account = strict_server.add_user()
    w = login(strict_server, acct)
    resp = w.command(b"a", b'SELECT "secret-<script>"')
    assert resp == [b"a NO [NONEXISTENT] Mailbox does not exist\r\n"]
    w.close()


def test_loopback_plaintext_login_when_configured(strict_server: RunningServer) -> None:
    acct = strict_server.add_user()
    w = WireClient("127.0.0.1", strict_server.imap_port)
    greeting = w.readline()
    assert b"STARTTLS" in greeting and b"AUTH=PLAIN" in greeting
    assert b"LOGINDISABLED" not in greeting
    resp = w.command(b"a", b"LOGIN " + quote(acct.username) + b" " + quote(acct.password))
    assert resp[-1].startswith(b"a OK")
    w.close()


def test_endless_line_over_tls_is_cut_off(strict_server: RunningServer) -> None:
    w = connect_tls(strict_server)
    chunk = b"A" * 65536
    sent = 0
    with pytest.raises(OSError):  # reset or broken pipe, long before 10 MB
        while sent < 10 * 1024 * 1024:
            w.sock.sendall(chunk)
            sent += len(chunk)
    w.close()
    _alive(strict_server)
