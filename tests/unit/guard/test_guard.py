from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TypeVar

from guard_fakes import FakeClock, ListSink, MemoryGuardState

from mailfort.audit.events import (
    AccountLocked,
    ConnectionRefusalReason,
    ConnectionRefused,
    CredentialStuffingDetected,
    LoginDelayed,
    LoginFailed,
    LoginFailureReason,
    SourceBanned,
    SourceUnbanned,
)
from mailfort.core.secret import Secret
from mailfort.guard.guard import Guard, GuardSettings, LoginAttempt
from mailfort.guard.ippolicy import IpPolicySettings
from mailfort.guard.ratelimit import ConnectionLimitSettings

T = TypeVar("T")
ATTACKER = "203.0.113.9"
OFFICE = "198.51.100.20"


def run(coro: Coroutine[object, object, T]) -> T:
    return asyncio.run(coro)


def make(settings: GuardSettings | None = None,
         state: MemoryGuardState | None = None) -> tuple[Guard, FakeClock, ListSink,
                                                         MemoryGuardState]:
    clock, sink, st = FakeClock(), ListSink(), state or MemoryGuardState()
    guard = Guard(settings or GuardSettings(), st, clock, sink, fingerprint_key=b"k" * 32)
    run(guard.load())
    return guard, clock, sink, st


def fail(guard: Guard, user: str, peer: str, password: str,
         reason: LoginFailureReason = LoginFailureReason.BAD_PASSWORD) -> None:
    run(guard.record(LoginAttempt(user, peer, False, reason, Secret(password))))


def ok(guard: Guard, user: str, peer: str) -> None:
    run(guard.record(LoginAttempt(user, peer, True)))


def attack(guard: Guard, clock: FakeClock, users: list[str], seconds: float) -> int:
    """One source guessing as fast as the guard lets it; returns attempts evaluated."""
    end = clock.t + seconds
    evaluated = 0
    n = 0
    while clock.t < end:
        user = users[n % len(users)]
        conn = guard.check_connect(ATTACKER)
        if conn.ticket is None:
            clock.advance(5)
            continue
        guard.release(conn.ticket)
        decision = guard.check_login(user, ATTACKER)
        if not decision.is_allowed:
            clock.advance(5)
            continue
        clock.advance(decision.delay_s + 0.05)
        n += 1
        evaluated += 1
        fail(guard, user, ATTACKER, f"guess{n}")
    return evaluated


def test_hydra_against_one_account_gets_fewer_than_20_guesses_in_an_hour() -> None:
    guard, clock, sink, _ = make()
    assert attack(guard, clock, ["alice@example.com"], 3600) < 20
    assert sink.of(AccountLocked)


def test_stuffing_from_one_address_is_banned_within_ten_attempts() -> None:
    guard, clock, sink, state = make()
    users = [f"user{i}@example.com" for i in range(1000)]
    assert attack(guard, clock, users, 3600) < 10
    assert sink.of(CredentialStuffingDetected)
    assert ATTACKER in state.ban_rows
    refused = guard.check_connect(ATTACKER)
    assert not refused.is_allowed and refused.reason is ConnectionRefusalReason.BANNED


def test_smart_lockout_real_user_from_known_network_still_logs_in() -> None:
    guard, clock, sink, _ = make()
    ok(guard, "alice", OFFICE)
    attack(guard, clock, ["alice"], 600)
    assert not guard.check_login("alice", ATTACKER).is_allowed
    assert not guard.check_login("alice", "192.0.2.99").is_allowed  # another unknown source
    decision = guard.check_login("alice", "198.51.100.77")  # alice's office /24
    assert decision.is_allowed and decision.delay_s == 0


def test_progressive_delay_on_the_failing_source() -> None:
    guard, clock, sink, _ = make()
    delays = []
    for i in range(6):
        delays.append(guard.check_login("alice", ATTACKER).delay_s)
        fail(guard, "alice", ATTACKER, f"pw{i}")
    assert delays == [0, 1, 2, 4, 8, 15]
    assert guard.check_login("alice", OFFICE).delay_s == 0
    assert len(sink.of(LoginDelayed)) == 5


def test_stale_password_from_nat_counts_once() -> None:
    guard, clock, sink, state = make()
    for _ in range(200):
        assert guard.check_login("bob", OFFICE).is_allowed
        fail(guard, "bob", OFFICE, "old-password")
        clock.advance(30)
    failed = [e for e in sink.events if isinstance(e, LoginFailed)]
    assert sum(e.is_counted for e in failed) <= 200 * 30 // 900 + 1  # once per window at most
    assert not state.ban_rows


def test_trusted_network_never_banned_or_locked() -> None:
    settings = GuardSettings(ip=IpPolicySettings(trusted=("203.0.113.0/24",)))
    guard, clock, sink, state = make(settings)
    assert attack(guard, clock, [f"u{i}" for i in range(50)], 60) > 50
    assert not state.ban_rows and guard.check_connect(ATTACKER).is_allowed


def test_deny_list_and_user_allowlist() -> None:
    settings = GuardSettings(ip=IpPolicySettings(deny=("192.0.2.0/24",),
                                                 user_allow={"fin": ("198.51.100.0/24",)}))
    guard, _, sink, _ = make(settings)
    d = guard.check_connect("192.0.2.1:4567")
    assert not d.is_allowed and d.reason is ConnectionRefusalReason.DENIED_BY_POLICY
    assert d.message and "192.0.2.1" not in d.message
    assert sink.of(ConnectionRefused)
    assert guard.check_login("fin", OFFICE).is_allowed
    refused = guard.check_login("fin", ATTACKER)
    assert refused.reason is ConnectionRefusalReason.NOT_IN_USER_ALLOWLIST


def test_connection_limits_say_which_limit() -> None:
    settings = GuardSettings(limits=ConnectionLimitSettings(pre_auth_per_address=1,
                                                            per_user_and_address=1))
    guard, _, _, _ = make(settings)
    first = guard.check_connect(OFFICE)
    assert first.ticket is not None
    second = guard.check_connect(OFFICE)
    assert second.reason is ConnectionRefusalReason.LIMIT_PRE_AUTH_PER_ADDRESS
    assert "unauthenticated" in second.message
    assert guard.authenticated(first.ticket, "alice").is_allowed
    third = guard.check_connect(OFFICE)
    assert third.ticket is not None
    limited = guard.authenticated(third.ticket, "alice")
    assert limited.reason is ConnectionRefusalReason.LIMIT_PER_USER_AND_ADDRESS
    guard.release(first.ticket)
    assert guard.authenticated(third.ticket, "alice").is_allowed


def test_state_survives_restart_and_admin_unban() -> None:
    guard, clock, sink, state = make()
    ok(guard, "alice", OFFICE)
    assert run(guard.ban("203.0.113.0/24", duration_s=3600)) is not None
    guard2, _, sink2, _ = make(state=state)
    assert not guard2.check_connect(ATTACKER).is_allowed
    assert any("unban" in line for line in guard2.status(ATTACKER))
    assert any("known from 1 networks" in line for line in guard2.status("alice"))
    assert run(guard2.unban("203.0.113.0/24"))
    assert guard2.check_connect(ATTACKER).is_allowed
    assert sink2.of(SourceUnbanned) and not state.ban_rows


def test_allowlist_lifts_persisted_ban_at_load() -> None:
    guard, clock, sink, state = make()
    run(guard.ban(ATTACKER))
    settings = GuardSettings(ip=IpPolicySettings(allow=(ATTACKER,)))
    guard2, _, sink2, _ = make(settings, state)
    assert guard2.check_connect(ATTACKER).is_allowed
    assert not state.ban_rows and sink2.of(SourceUnbanned)
    assert run(guard2.ban(ATTACKER)) is None


def test_bans_expire_and_status_words() -> None:
    guard, clock, sink, state = make()
    attack(guard, clock, [f"u{i}" for i in range(10)], 30)
    lines = guard.status(ATTACKER)
    assert any("credential stuffing" in line and "banned since" in line for line in lines)
    assert guard.status("192.0.2.200") == ["192.0.2.200 is not limited."]
    assert guard.status("nobody@example.com") == ["nobody@example.com is not limited."]
    clock.advance(24 * 3600)
    assert run(guard.expire()) >= 1
    assert not state.ban_rows
    assert sink.of(SourceBanned)


def test_unknown_and_known_users_are_treated_alike() -> None:
    guard, clock, _, _ = make()
    seen = []
    for name in ("ghost@example.com", "alice@example.com"):
        delays = []
        for i in range(3):
            delays.append(guard.check_login(name, f"192.0.2.{i + 1}").delay_s)
            fail(guard, name, f"192.0.2.{i + 1}", f"x{i}",
                 LoginFailureReason.UNKNOWN_USER if name.startswith("g") else
                 LoginFailureReason.BAD_PASSWORD)
        seen.append(delays)
    assert seen[0] == seen[1] == [0, 1, 2]
