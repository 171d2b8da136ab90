from __future__ import annotations

from ipaddress import ip_address

from mailfort.guard.bans import BanList, BanSettings
from mailfort.guard.ippolicy import IpPolicy, IpPolicySettings
from mailfort.store.security import Ban, BanKind

A = ip_address("203.0.113.9")


def make(**kw: float) -> BanList:
    return BanList(BanSettings(**kw), IpPolicy(IpPolicySettings(  # type: ignore[arg-type]
        allow=("198.51.100.0/24",), trusted=("10.0.0.0/8",))))


def test_address_banned_after_threshold_and_ban_grows() -> None:
    bans = make(address_failures=3, ban_s=60, growth=4)
    assert bans.record_failure(A, "alice", True, 0) == []
    assert bans.record_failure(A, "alice", True, 1) == []
    out = bans.record_failure(A, "alice", True, 2)
    assert [o.ban.source for o in out] == ["203.0.113.9"]
    assert out[0].ban.until == 62 and not out[0].is_stuffing
    assert bans.active(A, 30) is not None
    assert bans.active(ip_address("203.0.113.10"), 30) is None  # the neighbour is fine
    assert bans.active(A, 62) is None
    # second round: threshold halves (3 >> 1 = 1) and the ban lasts 4 times longer
    out = bans.record_failure(A, "alice", True, 100)
    assert out and out[0].ban.until == 100 + 240 and out[0].ban.repeats == 1


def test_uncounted_repeats_do_not_ban() -> None:
    bans = make(address_failures=3)
    for t in range(20):
        assert bans.record_failure(A, "alice", t == 0, t) == []


def test_stuffing_one_source_many_accounts() -> None:
    bans = make(stuffing_accounts=5)
    results = [bans.record_failure(A, f"user{i}", True, i) for i in range(5)]
    assert all(r == [] for r in results[:4])
    assert results[4][0].is_stuffing and results[4][0].distinct_accounts == 5
    assert "credential stuffing" in results[4][0].ban.reason


def test_network_ban_catches_rotating_addresses() -> None:
    bans = make(address_failures=1000, network_failures=10, stuffing_accounts=1000,
                network_stuffing_accounts=1000)
    out = []
    for i in range(10):
        out = bans.record_failure(ip_address(f"203.0.113.{i}"), "alice", True, i)
    assert [o.ban.source for o in out] == ["203.0.113.0/24"]
    assert out[0].ban.kind is BanKind.NETWORK
    assert bans.active(ip_address("203.0.113.200"), 11) is not None


def test_allowlisted_and_trusted_never_banned_and_allowlist_lifts_loaded_ban() -> None:
    bans = make(address_failures=1, stuffing_accounts=2)
    for addr in ("198.51.100.1", "10.1.2.3"):
        for i in range(10):
            assert bans.record_failure(ip_address(addr), f"u{i}", True, i) == []
    assert bans.ban("198.51.100.0/24", "x", 0) is None
    assert bans.ban("10.0.0.0/8", "x", 0) is None
    stored = [Ban("198.51.100.1", BanKind.ADDRESS, "old", 0, None, 0, True),
              Ban("203.0.113.9", BanKind.ADDRESS, "old", 0, None, 0, True)]
    lifted = bans.load(stored)
    assert [b.source for b in lifted] == ["198.51.100.1"]
    assert bans.active(ip_address("198.51.100.1"), 5) is None
    assert bans.active(A, 5) is not None


def test_unban_and_expiry() -> None:
    bans = make()
    ban = bans.ban("203.0.113.0/24", "manual", 0, duration_s=10, is_manual=True)
    assert ban is not None and ban.kind is BanKind.NETWORK
    assert bans.active(A, 5) is not None
    assert [b.source for b in bans.expired(10)] == ["203.0.113.0/24"]
    assert bans.active(A, 11) is None
    bans.ban("203.0.113.9", "manual", 20, is_permanent=True)
    assert bans.active(A, 10**9) is not None
    assert bans.unban("203.0.113.9") is not None
    assert bans.active(A, 21) is None
