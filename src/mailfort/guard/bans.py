"""Temporary bans of addresses and networks (fail2ban-like), and credential-stuffing detection.

Per source (an address, and its IPv4 /24 or IPv6 /64 network) the guard counts failed logins
(a repeated stale password counts once) and the distinct accounts tried. A source that crosses
a threshold is banned; each ban within ``repeat_memory_s`` of the last lasts ``growth`` times
longer and is reached sooner (thresholds halve). Allowlisted and trusted sources are never
banned, and an allowlist entry lifts a ban that covers it.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field

from mailfort.guard.ippolicy import IpAddress, IpPolicy, network_of, parse_source
from mailfort.store.security import Ban, BanKind, SourceCounters

__all__ = ["BanSettings", "BanOutcome", "BanList"]


@dataclass(frozen=True, slots=True)
class BanSettings:
    address_failures: int = 20  # counted failures from one address in window_s
    network_failures: int = 100
    window_s: float = 15 * 60
    stuffing_accounts: int = 5  # distinct accounts failing from one address in stuffing_window_s
    network_stuffing_accounts: int = 25
    stuffing_window_s: float = 10 * 60
    ban_s: float = 15 * 60
    growth: int = 4
    max_ban_s: float = 24 * 3600
    repeat_memory_s: float = 7 * 24 * 3600
    max_sources: int = 100_000


@dataclass(frozen=True, slots=True)
class BanOutcome:
    ban: Ban
    is_stuffing: bool
    distinct_accounts: int


@dataclass(slots=True)
class _Source:
    failures: deque[float] = field(default_factory=lambda: deque(maxlen=4096))
    accounts: OrderedDict[str, float] = field(default_factory=OrderedDict)


def _minutes(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return f"{minutes} minute" + ("" if minutes == 1 else "s")


class BanList:
    def __init__(self, settings: BanSettings, policy: IpPolicy) -> None:
        self._s = settings
        self._policy = policy
        self._bans: dict[str, Ban] = {}
        self._history: dict[str, tuple[int, float]] = {}  # source -> (bans so far, last since)
        self._sources: OrderedDict[str, _Source] = OrderedDict()

    def load(self, bans: list[Ban]) -> list[Ban]:
        """Restore persisted bans; returns those dropped because the allowlist now covers
        them (the caller deletes them from storage)."""
        lifted: list[Ban] = []
        for ban in bans:
            if self._policy.covers_exempt(parse_source(ban.source)):
                lifted.append(ban)
                continue
            self._bans[ban.source] = ban
            self._history[ban.source] = (ban.repeats + 1, ban.since)
        return lifted

    def active(self, addr: IpAddress, now: float) -> Ban | None:
        """The ban that refuses this address now, if any (the longest one)."""
        if self._policy.is_exempt(addr):
            return None
        found: Ban | None = None
        for key in (str(addr), str(network_of(addr))):
            ban = self._bans.get(key)
            if ban is None:
                continue
            if ban.until is not None and now >= ban.until:
                continue
            if found is None or (ban.until is None or
                                 (found.until is not None and ban.until > found.until)):
                found = ban
        return found

    def expired(self, now: float) -> list[Ban]:
        """Remove and return bans whose time is up."""
        gone = [b for b in self._bans.values() if b.until is not None and now >= b.until]
        for ban in gone:
            del self._bans[ban.source]
        return gone

    def current(self, now: float) -> list[Ban]:
        return sorted((b for b in self._bans.values() if b.until is None or now < b.until),
                      key=lambda b: b.since)

    def get(self, source: str) -> Ban | None:
        return self._bans.get(source)

    def _repeats(self, key: str, now: float) -> int:
        count, last = self._history.get(key, (0, 0.0))
        if count and now - last > self._s.repeat_memory_s:
            del self._history[key]
            return 0
        return count

    def ban(self, source: str, reason: str, now: float, *, duration_s: float | None = None,
            is_manual: bool = False, is_permanent: bool = False) -> Ban | None:
        """Ban ``source`` (address or CIDR). None when the allowlist or trusted networks cover
        it. Without ``duration_s`` the length grows with the source's earlier bans."""
        parsed = parse_source(source)
        if self._policy.covers_exempt(parsed):
            return None
        key = str(parsed)
        kind = BanKind.ADDRESS if "/" not in key else BanKind.NETWORK
        repeats = self._repeats(key, now)
        if is_permanent:
            until: float | None = None
        elif duration_s is not None:
            until = now + duration_s
        else:
            until = now + min(self._s.max_ban_s, self._s.ban_s * float(self._s.growth) ** repeats)
        ban = Ban(key, kind, reason, now, until, repeats, is_manual)
        self._bans[key] = ban
        self._history[key] = (repeats + 1, now)
        src = self._sources.get(key)
        if src is not None:
            src.failures.clear()
            src.accounts.clear()
        return ban

    def unban(self, source: str) -> Ban | None:
        key = str(parse_source(source))
        return self._bans.pop(key, None)

    def forget(self, source: str) -> None:
        """Also forget the repeat history (an admin's full pardon)."""
        key = str(parse_source(source))
        self._history.pop(key, None)
        self._sources.pop(key, None)

    def _source(self, key: str) -> _Source:
        src = self._sources.get(key)
        if src is None:
            src = _Source()
            self._sources[key] = src
            while len(self._sources) > self._s.max_sources:
                self._sources.popitem(last=False)
        else:
            self._sources.move_to_end(key)
        return src

    def failure_counts(self, key: str, now: float) -> tuple[int, int]:
        """(failures in the window, distinct accounts in the stuffing window) of a source."""
        src = self._sources.get(key)
        if src is None:
            return 0, 0
        self._prune(src, now)
        return len(src.failures), len(src.accounts)

    def _prune(self, src: _Source, now: float) -> None:
        horizon = now - self._s.window_s
        while src.failures and src.failures[0] <= horizon:
            src.failures.popleft()
        horizon = now - self._s.stuffing_window_s
        for user in [u for u, t in src.accounts.items() if t <= horizon]:
            del src.accounts[user]

    def record_failure(self, addr: IpAddress, user: str, is_counted: bool,
                       now: float) -> list[BanOutcome]:
        """Count a failed login; returns the bans it caused (none for exempt sources)."""
        if self._policy.is_exempt(addr):
            return []
        outcomes: list[BanOutcome] = []
        levels = ((str(addr), self._s.address_failures, self._s.stuffing_accounts),
                  (str(network_of(addr)), self._s.network_failures,
                   self._s.network_stuffing_accounts))
        for key, max_failures, max_accounts in levels:
            src = self._source(key)
            self._prune(src, now)
            if is_counted:
                src.failures.append(now)
            src.accounts[user.casefold()] = now
            src.accounts.move_to_end(user.casefold())
            current = self._bans.get(key)
            if current is not None and (current.until is None or now < current.until):
                continue
            repeats = self._repeats(key, now)
            fail_limit = max(1, max_failures >> repeats)
            account_limit = max(2, max_accounts >> repeats)
            distinct = len(src.accounts)
            ban: Ban | None = None
            is_stuffing = False
            if distinct >= account_limit:
                is_stuffing = True
                ban = self.ban(key, f"{distinct} different accounts failed to log in within "
                               f"{_minutes(self._s.stuffing_window_s)} (credential stuffing)",
                               now)
            elif len(src.failures) >= fail_limit:
                ban = self.ban(key, f"{len(src.failures)} failed logins within "
                               f"{_minutes(self._s.window_s)}", now)
            if ban is not None:
                outcomes.append(BanOutcome(ban, is_stuffing, distinct))
        return outcomes

    # -- persistence (guard state survives a restart) -----------------------------------
    def snapshot(self, key: str, now: float) -> SourceCounters | None:
        """What to keep of source ``key``; None when nothing is worth keeping."""
        src = self._sources.get(key)
        if src is not None:
            self._prune(src, now)
        bans, last = self._history.get(key, (0, 0.0))
        failures = tuple(src.failures) if src is not None else ()
        accounts = tuple(src.accounts.items()) if src is not None else ()
        if not (failures or accounts or bans):
            return None
        return SourceCounters(key, failures, accounts, bans, last)

    def restore(self, records: list[SourceCounters]) -> None:
        for rec in records:
            if rec.failures or rec.accounts:
                src = self._source(rec.source)
                src.failures = deque(sorted(rec.failures), maxlen=src.failures.maxlen)
                src.accounts = OrderedDict(sorted(rec.accounts, key=lambda a: a[1]))
            if rec.bans_so_far:
                count, last = self._history.get(rec.source, (0, 0.0))
                self._history[rec.source] = (max(count, rec.bans_so_far),
                                             max(last, rec.last_ban_at))

    def replace(self, ban: Ban) -> bool:
        """Adopt a ban read from storage (made by the CLI); False if already held as is or
        the allowlist covers it."""
        current = self._bans.get(ban.source)
        if current == ban or (current is not None and current.since > ban.since):
            return False  # the same, or this process banned it again since
        if self._policy.covers_exempt(parse_source(ban.source)):
            return False
        self._bans[ban.source] = ban
        count, last = self._history.get(ban.source, (0, 0.0))
        self._history[ban.source] = (max(count, ban.repeats + 1), max(last, ban.since))
        return True
