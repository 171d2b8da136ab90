"""Guard state survives a restart and is shared with the CLI: failure counters, lockouts,
stale-password fingerprints and ban history are written in batches (``flush``) and restored
(``load``); bans, unbans and unlocks made by another process reach a running guard at its next
``sync``."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TypeVar

from guard_fakes import FakeClock, ListSink, MemoryGuardState

from mailfort.audit.events import ConnectionRefusalReason, LoginFailureReason, SourceUnbanned
from mailfort.core.secret import Secret
from mailfort.guard.bans import BanSettings
from mailfort.guard.guard import Guard, GuardSettings, LoginAttempt
from mailfort.guard.lockout import LockoutSettings

T = TypeVar("T")
ATTACKER = "203.0.113.9"
USER = "alice@example.com"
KEY = b"k" * 32
# Bans high enough not to get in the way of the lockout tests.
SETTINGS = GuardSettings(lockout=LockoutSettings(threshold=5),
                         bans=BanSettings(address_failures=1000, network_failures=1000,
                                          stuffing_accounts=4, network_stuffing_accounts=1000))


def run(coro: Coroutine[object, object, T]) -> T:
    return asyncio.run(coro)


def start(state: MemoryGuardState, clock: FakeClock, key: bytes = KEY,
          sink: ListSink | None = None) -> Guard:
    """A process starting on ``state`` (a server, or a CLI command)."""
    guard = Guard(SETTINGS, state, clock, sink or ListSink(), fingerprint_key=key)
    run(guard.load())
    return guard


def fail(guard: Guard, password: str, user: str = USER, peer: str = ATTACKER) -> None:
    run(guard.record(LoginAttempt(user, peer, False, LoginFailureReason.BAD_PASSWORD,
                                  Secret(password))))


def test_a_restart_does_not_reset_the_attackers_budget() -> None:
    state, clock = MemoryGuardState(), FakeClock()
    server = start(state, clock)
    for i in range(4):  # one short of the lockout
        fail(server, f"guess-{i}")
        clock.advance(1)
    assert state.saves == 0  # nothing written per failed login...
    run(server.flush())
    assert state.saves == 1  # ...one batched write for all of them
    restarted = start(state, clock)
    assert restarted.check_login(USER, ATTACKER).is_allowed
    fail(restarted, "guess-4")  # the fifth failure overall locks
    decision = restarted.check_login(USER, ATTACKER)
    assert not decision.is_allowed
    assert decision.reason is ConnectionRefusalReason.LOCKED_OUT


def test_a_lockout_and_its_end_survive_a_restart() -> None:
    state, clock = MemoryGuardState(), FakeClock()
    server = start(state, clock)
    for i in range(5):
        fail(server, f"guess-{i}")
    until = server.check_login(USER, ATTACKER).retry_after
    assert until is not None
    run(server.flush())
    restarted = start(state, clock)
    after = restarted.check_login(USER, ATTACKER)
    assert not after.is_allowed and after.retry_after == until
    assert any("locked" in line for line in restarted.status(USER))
    clock.t = until + 1
    assert restarted.check_login(USER, ATTACKER).is_allowed


def test_a_stale_password_retried_after_a_restart_still_counts_once() -> None:
    state, clock = MemoryGuardState(), FakeClock()
    server = start(state, clock)
    fail(server, "old-password")
    run(server.flush())
    restarted = start(state, clock)
    for _ in range(10):  # the same stale password, again and again
        fail(restarted, "old-password")
    assert restarted.check_login(USER, ATTACKER).is_allowed
    assert any("has 1 counted failed logins" in line for line in restarted.status(USER))
    # With another fingerprint key (a key not kept across restarts) it would count anew.
    other = start(state, clock, key=b"x" * 32)
    fail(other, "old-password")
    assert any("has 2 counted failed logins" in line for line in other.status(USER))


def test_ban_history_survives_so_the_next_ban_is_longer() -> None:
    state, clock = MemoryGuardState(), FakeClock()
    server = start(state, clock)
    for i in range(4):  # stuffing: 4 accounts from one address
        fail(server, "x", user=f"victim{i}")
    first = server.check_connect(ATTACKER)
    assert first.reason is ConnectionRefusalReason.BANNED
    [ban1] = [b for b in server.bans() if b.source == ATTACKER]
    run(server.flush())
    clock.t = (ban1.until or 0) + 1
    run(server.expire())  # the ban is over and deleted...
    run(server.flush())
    restarted = start(state, clock)
    assert restarted.check_connect(ATTACKER).is_allowed
    for i in range(4):
        fail(restarted, "x", user=f"other{i}")
    [ban2] = [b for b in restarted.bans() if b.source == ATTACKER]
    assert ban2.repeats == 1  # ...but remembered: the second ban grows
    assert ban2.until is not None and ban1.until is not None
    assert ban2.until - ban2.since > ban1.until - ban1.since


def test_unlock_from_the_cli_reaches_the_running_server_at_its_next_sync() -> None:
    state, clock = MemoryGuardState(), FakeClock()
    server = start(state, clock)
    for i in range(5):
        fail(server, f"guess-{i}")
    run(server.sync())  # the periodic turn writes the counters
    cli = start(state, clock)  # `mailfort guard status USER` sees the server's lockout
    assert any("is locked" in line and "guard unban" in line for line in cli.status(USER))
    assert run(cli.lift(USER))
    assert "is not limited" in start(state, clock).status(USER)[0]
    assert not server.check_login(USER, ATTACKER).is_allowed  # until it syncs
    run(server.sync())
    assert server.check_login(USER, ATTACKER).is_allowed
    assert USER not in state.account_rows  # and it did not write the lockout back
    # A restart after the pardon keeps it lifted.
    assert start(state, clock).check_login(USER, ATTACKER).is_allowed


def test_a_pardon_the_server_never_applied_still_holds_after_a_restart() -> None:
    state, clock = MemoryGuardState(), FakeClock()
    server = start(state, clock)
    for i in range(5):
        fail(server, f"guess-{i}")
    run(server.flush())
    clock.advance(1)
    run(start(state, clock).lift(USER))
    run(server.flush())  # the server did not see the pardon yet: it writes the lock back...
    clock.advance(1)
    restarted = start(state, clock)  # ...and then it was killed
    assert restarted.check_login(USER, ATTACKER).is_allowed


def test_ban_and_unban_from_the_cli_reach_the_running_server() -> None:
    state, clock, sink = MemoryGuardState(), FakeClock(), ListSink()
    server = start(state, clock, sink=sink)
    cli = start(state, clock)
    assert run(cli.ban("192.0.2.0/24", duration_s=3600)) is not None
    assert server.check_connect("192.0.2.7").is_allowed
    run(server.sync())
    assert server.check_connect("192.0.2.7").reason is ConnectionRefusalReason.BANNED
    assert run(start(state, clock).unban("192.0.2.0/24"))
    run(server.sync())
    assert server.check_connect("192.0.2.7").is_allowed
    assert sink.of(SourceUnbanned)


def test_an_address_ban_from_failures_is_lifted_in_the_server_by_the_cli() -> None:
    state, clock = MemoryGuardState(), FakeClock()
    server = start(state, clock)
    for i in range(4):
        fail(server, "x", user=f"victim{i}")
    assert not server.check_connect(ATTACKER).is_allowed
    run(server.sync())
    cli = start(state, clock)
    assert any("is banned" in line for line in cli.status(ATTACKER))
    assert run(cli.unban(ATTACKER))
    run(server.sync())
    assert server.check_connect(ATTACKER).is_allowed
    # The source's counters were forgotten too: one more failure does not ban again.
    fail(server, "x", user="victim9")
    assert server.check_connect(ATTACKER).is_allowed
