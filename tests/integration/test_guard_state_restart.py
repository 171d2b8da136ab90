"""Account security against a real ``mailfort serve`` (issue #3): an address banned for
repeated failures on one account is refused before the greeting; a lockout and a ban survive a
kill -9 and a restart; ``mailfort guard status`` run while the server runs explains the
lockout in words; ``mailfort guard unban`` lifts a ban or a lockout in the running server
(after SIGHUP, or within the periodic guard sync); an account that the policy requires to have
MFA is told to enrol, but only once its password verified.

Sources are told apart by binding the client socket to loopback addresses (127.0.0.0/8);
each test uses its own /24. Every wait is bounded by a deadline.
"""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Callable, Iterator

import pytest
from tests.security.wire import ConnectionClosed, Reply, Wire, quote
from tests.serverproc import MailfortProcess

TIMEOUT_S = 15.0
SYNC_S = 1  # [guard] state_sync_interval_s of this server
BOSS = "boss@example.test"

GUARD = f"""
[guard]
lockout_threshold = 10
ban_address_failures = 4
stuffing_accounts = 50
delays_s = [0]
state_sync_interval_s = {SYNC_S}
[mfa]
required_users = ["{BOSS}"]
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailfortProcess]:
    proc = MailfortProcess(tmp_path_factory.mktemp("guardstate"), extra_config=GUARD)
    proc.write_config()
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


def greet(server: MailfortProcess, source: str) -> Wire:
    raw = socket.create_connection(("127.0.0.1", server.imaps_port), timeout=TIMEOUT_S,
                                   source_address=(source, 0))
    wire = Wire(server.ssl_context().wrap_socket(raw, server_hostname="localhost"), TIMEOUT_S)
    try:
        wire.greeting = wire.read_line()
    except ConnectionClosed:
        wire.greeting = b""
    return wire


def try_login(server: MailfortProcess, source: str, user: str, password: str) -> Reply:
    wire = greet(server, source)
    try:
        assert wire.greeting.startswith(b"* OK"), wire.greeting
        return wire.command("a", b"LOGIN " + quote(user) + b" " + quote(password))
    finally:
        wire.close()


def greeting(server: MailfortProcess, source: str) -> bytes:
    wire = greet(server, source)
    wire.close()
    return wire.greeting


def until(what: str, check: Callable[[], bool], timeout_s: float = TIMEOUT_S) -> None:
    """Poll ``check`` until it holds; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout_s} s: {what}")
        time.sleep(0.1)  # polling, bounded by the deadline


def cli_out(server: MailfortProcess, *args: str) -> str:
    return server.cli(*args).stdout.decode()


BANNED = b"* BYE [UNAVAILABLE] Too many failed logins from your address; try again later"


def test_address_banned_for_failures_on_one_account_is_refused_before_the_greeting(
        server: MailfortProcess) -> None:
    password = server.add_user("carol@example.test")
    source = "127.0.30.1"
    for i in range(4):
        reply = try_login(server, source, "carol@example.test", f"guess-{i}")
        assert reply.code == b"AUTHENTICATIONFAILED", reply
    assert greeting(server, source) == BANNED
    assert greeting(server, "127.0.30.2").startswith(b"* OK")  # only that address
    status = cli_out(server, "guard", "status", source)
    assert f"{source} is banned since" in status and "4 failed logins" in status
    assert f"mailfort guard unban {source}" in status
    # The ban outlives a kill -9 and a restart...
    server.kill()
    server.start()
    assert greeting(server, source) == BANNED
    # ...and `guard unban` lifts it in the running server (SIGHUP: at once).
    assert "Lifted the ban" in cli_out(server, "guard", "unban", source)
    assert server.proc is not None
    server.proc.send_signal(signal.SIGHUP)
    until("the unban reaches the server", lambda: greeting(server, source).startswith(b"* OK"))
    assert try_login(server, source, "carol@example.test", password).is_ok


def test_lockout_survives_a_restart_and_is_explained_and_lifted_by_the_cli(
        server: MailfortProcess) -> None:
    user = "dave@example.test"
    password = server.add_user(user)
    home = "127.0.31.1"
    assert try_login(server, home, user, password).is_ok  # a network dave is known from
    attackers = [f"127.0.32.{i}" for i in range(1, 5)]  # 3 guesses each: no address ban
    for n in range(10):
        reply = try_login(server, attackers[n % 4], user, f"guess-{n}")
        assert reply.code == b"AUTHENTICATIONFAILED", reply
    locked = try_login(server, attackers[0], user, password)
    assert locked.status == b"NO" and locked.code == b"UNAVAILABLE", locked
    # `guard status` while the server runs: the lockout in words, once the server synced.
    until("the server writes its guard state",
          lambda: "is locked" in cli_out(server, "guard", "status", user))
    status = cli_out(server, "guard", "status", user)
    assert f"{user} is locked for unknown addresses since" in status
    assert "after repeated failed logins" in status
    assert "logged in from before still work" in status
    assert f"mailfort guard unban {user}" in status
    # kill -9 and start again: the attacker's networks are still locked out, the known one
    # still works (smart lockout), and the failure budget is not reset.
    server.kill()
    server.start()
    again = try_login(server, attackers[1], user, password)
    assert again.status == b"NO" and again.code == b"UNAVAILABLE", again
    assert try_login(server, home, user, password).is_ok
    # Unlock from the CLI: the running server applies it within its periodic sync (no
    # signal this time).
    assert "Cleared" in cli_out(server, "guard", "unban", user)
    until("the unlock reaches the server",
          lambda: try_login(server, attackers[2], user, password).is_ok,
          timeout_s=TIMEOUT_S + SYNC_S)


def test_mfa_required_by_policy_is_told_only_after_the_password(
        server: MailfortProcess) -> None:
    password = server.add_user(BOSS)
    source = "127.0.33.1"
    wrong = try_login(server, source, BOSS, "not-the-password")
    assert wrong.tagged == b"a NO [AUTHENTICATIONFAILED] Authentication failed", wrong
    right = try_login(server, source, BOSS, password)
    assert right.tagged == (b"a NO [CONTACTADMIN] This account must use two-factor "
                            b"authentication; ask your administrator to set it up, then "
                            b"use an app password"), right
    status = cli_out(server, "mfa", "status", BOSS)
    assert "MFA is off" in status and "required by policy" in status
    assert "[mfa] required_users" in status
    refused = server.cli("app-password", "create", BOSS, "--name", "phone", check=False)
    assert refused.returncode == 2 and b"required by policy" in refused.stderr
    # Another account is not concerned.
    other = server.add_user("erin@example.test")
    assert try_login(server, source, "erin@example.test", other).is_ok
    assert "required" not in cli_out(server, "mfa", "status", "erin@example.test")
