from __future__ import annotations

from ipaddress import ip_address

from mailfort.guard.lockout import LockoutSettings, SmartLockout

ATTACKER = ip_address("203.0.113.9")
HOME = ip_address("198.51.100.20")


def fp(n: int) -> bytes:
    return n.to_bytes(4, "big")


def test_unknown_sources_lock_but_known_network_keeps_working() -> None:
    lo = SmartLockout(LockoutSettings(threshold=3, window_s=900, lockout_s=900))
    lo.record_success("alice", HOME, 0)
    outcomes = [lo.record_failure("alice", ATTACKER, fp(i), 10 + i) for i in range(3)]
    assert [o.locked_until for o in outcomes] == [None, None, 12 + 900]
    assert lo.state("alice", ATTACKER, 20).is_locked
    assert lo.state("Alice", ip_address("203.0.113.200"), 20).is_locked  # any unknown source
    home = lo.state("alice", ip_address("198.51.100.99"), 20)  # same /24 as HOME
    assert home.is_known_source and not home.is_locked
    assert not lo.state("alice", ATTACKER, 12 + 900).is_locked
    assert not lo.state("bob", ATTACKER, 20).is_locked


def test_same_stale_password_counts_once() -> None:
    lo = SmartLockout(LockoutSettings(threshold=3))
    outcomes = [lo.record_failure("alice", ATTACKER, fp(7), t) for t in range(50)]
    assert outcomes[0].is_counted
    assert not any(o.is_counted for o in outcomes[1:])
    assert not lo.state("alice", ATTACKER, 60).is_locked
    assert lo.state("alice", ATTACKER, 60).source_failures == 1


def test_repeat_locks_come_sooner_and_last_longer() -> None:
    lo = SmartLockout(LockoutSettings(threshold=8, lockout_s=100, window_s=50))
    t = 0.0
    guesses = 0
    locks: list[float] = []
    n = 0
    while t < 1000:
        if lo.state("alice", ATTACKER, t).is_locked:
            t += 1
            continue
        n += 1
        guesses += 1
        out = lo.record_failure("alice", ATTACKER, fp(n), t)
        if out.locked_until is not None:
            locks.append(out.locked_until - t)
        t += 1
    assert locks[:3] == [100, 200, 400]
    assert guesses == 8 + 4 + 2 + 1  # threshold halves each round: 15 guesses in 1000 s


def test_known_network_that_fails_itself_is_locked_alone() -> None:
    lo = SmartLockout(LockoutSettings(threshold=2))
    lo.record_success("alice", HOME, 0)
    lo.record_failure("alice", HOME, fp(1), 1)
    out = lo.record_failure("alice", HOME, fp(2), 2)
    assert out.locked_until is not None
    assert lo.state("alice", HOME, 3).is_locked
    assert not lo.state("alice", ATTACKER, 3).is_locked


def test_many_networks_put_account_under_attack_with_stricter_threshold() -> None:
    lo = SmartLockout(LockoutSettings(threshold=10, attack_sources=3, attack_threshold=3))
    outs = [lo.record_failure("alice", ip_address(f"203.0.{i}.1"), fp(i), i) for i in range(3)]
    assert outs[2].is_under_attack and outs[2].is_newly_under_attack
    assert outs[2].locked_until is not None  # 3 unknown failures reach the strict threshold
    assert not outs[1].is_under_attack


def test_success_clears_failures_of_that_network() -> None:
    lo = SmartLockout(LockoutSettings(threshold=5))
    for i in range(4):
        lo.record_failure("alice", HOME, fp(i), i)
    lo.record_success("alice", HOME, 10)
    assert lo.state("alice", HOME, 11).source_failures == 0


def test_tracked_accounts_are_bounded() -> None:
    lo = SmartLockout(LockoutSettings(max_accounts=10))
    for i in range(100):
        lo.record_failure(f"user{i}", ATTACKER, fp(i), i)
    assert lo.account_summary("user0", 200) == (None, 0, 0, False)
    assert lo.account_summary("user99", 100)[1] == 1
