"""Smart lockout per account.

After ``threshold`` counted failures within ``window_s`` from sources the user is not known
from, the account is locked *for unknown sources* for ``lockout_s``; the user's known networks
(where they logged in before) keep working, so an attacker cannot lock the real user out. A
known network that fails ``threshold`` times itself is locked out on its own.

Each further lock within ``repeat_memory_s`` lasts longer and is reached sooner (the threshold
halves, down to 1): a patient attacker gets fewer guesses each round.

The same wrong password repeated from one network counts once (a phone retrying a stale
password behind an office NAT): the caller passes a keyed fingerprint of the password, never
the password, and the last ``stale_memory`` fingerprints per account and network are kept.

Many distinct networks failing on one account within the window put it "under attack":
unknown sources then get ``attack_threshold`` instead of ``threshold``.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field

from mailfort.guard.ippolicy import IpAddress, network_of
from mailfort.store.security import AccountCounters, FailureMark, KnownSource, StalePassword

__all__ = ["LockoutSettings", "FailureOutcome", "LockState", "SmartLockout"]


@dataclass(frozen=True, slots=True)
class LockoutSettings:
    threshold: int = 10
    window_s: float = 15 * 60
    lockout_s: float = 15 * 60
    max_lockout_s: float = 24 * 3600
    repeat_memory_s: float = 24 * 3600
    attack_sources: int = 5  # distinct failing networks that mean "under attack"
    attack_threshold: int = 3
    stale_memory: int = 8
    max_accounts: int = 100_000  # accounts tracked at once (oldest forgotten first)
    max_known_per_user: int = 64


@dataclass(frozen=True, slots=True)
class FailureOutcome:
    is_counted: bool
    source_failures: int  # counted failures of this account from this network, in the window
    locked_until: float | None  # set when this failure locked the account (or the network)
    is_under_attack: bool
    is_newly_under_attack: bool
    distinct_sources: int


@dataclass(frozen=True, slots=True)
class LockState:
    is_locked: bool
    until: float | None
    is_known_source: bool
    source_failures: int
    unknown_failures: int
    is_under_attack: bool


@dataclass(slots=True)
class _Failure:
    at: float
    network: str
    is_known: bool


@dataclass(slots=True)
class _Account:
    failures: deque[_Failure] = field(default_factory=lambda: deque(maxlen=4096))
    stale: dict[str, OrderedDict[bytes, float]] = field(default_factory=dict)
    locked_until: float = 0.0  # for unknown sources
    source_locked_until: dict[str, float] = field(default_factory=dict)
    locks: int = 0
    last_lock_at: float = 0.0
    was_under_attack: bool = False


class SmartLockout:
    def __init__(self, settings: LockoutSettings) -> None:
        self._s = settings
        self._accounts: OrderedDict[str, _Account] = OrderedDict()
        self._known: dict[str, dict[str, KnownSource]] = {}

    # -- known sources ------------------------------------------------------------------
    def load_known(self, sources: list[KnownSource]) -> None:
        for src in sources:
            self._known.setdefault(src.user, {})[src.network] = src

    def is_known(self, user: str, addr: IpAddress) -> bool:
        return str(network_of(addr)) in self._known.get(user.casefold(), {})

    def known_sources(self, user: str) -> list[KnownSource]:
        return sorted(self._known.get(user.casefold(), {}).values(), key=lambda k: k.network)

    def record_success(self, user: str, addr: IpAddress, now: float) -> KnownSource:
        name = user.casefold()
        net = str(network_of(addr))
        known = self._known.setdefault(name, {})
        old = known.get(net)
        src = KnownSource(name, net, old.first_seen if old else now, now)
        known[net] = src
        if len(known) > self._s.max_known_per_user:
            stalest = min(known.values(), key=lambda k: k.last_seen)
            del known[stalest.network]
        acct = self._accounts.get(name)
        if acct is not None:  # a good login from here clears this network's record
            acct.stale.pop(net, None)
            acct.source_locked_until.pop(net, None)
            acct.failures = deque((f for f in acct.failures if f.network != net),
                                  maxlen=acct.failures.maxlen)
        return src

    # -- failures -----------------------------------------------------------------------
    def _account(self, name: str) -> _Account:
        acct = self._accounts.get(name)
        if acct is None:
            acct = _Account()
            self._accounts[name] = acct
            while len(self._accounts) > self._s.max_accounts:
                self._accounts.popitem(last=False)
        else:
            self._accounts.move_to_end(name)
        return acct

    def _prune(self, acct: _Account, now: float) -> None:
        horizon = now - self._s.window_s
        while acct.failures and acct.failures[0].at <= horizon:
            acct.failures.popleft()
        for net in list(acct.stale):
            memo = acct.stale[net]
            for fp in [fp for fp, t in memo.items() if t <= horizon]:
                del memo[fp]
            if not memo:
                del acct.stale[net]
        if acct.locks and now - acct.last_lock_at > self._s.repeat_memory_s:
            acct.locks = 0

    def _threshold(self, acct: _Account, is_known: bool, under_attack: bool) -> int:
        base = self._s.threshold
        if under_attack and not is_known:
            base = min(base, self._s.attack_threshold)
        return max(1, base >> acct.locks)

    def _lock_duration(self, acct: _Account) -> float:
        return min(self._s.max_lockout_s, self._s.lockout_s * 2.0 ** acct.locks)

    @staticmethod
    def _distinct(acct: _Account) -> int:
        return len({f.network for f in acct.failures if not f.is_known})

    def record_failure(self, user: str, addr: IpAddress, fingerprint: bytes,
                       now: float) -> FailureOutcome:
        name = user.casefold()
        net = str(network_of(addr))
        is_known = self.is_known(name, addr)
        acct = self._account(name)
        self._prune(acct, now)
        memo = acct.stale.setdefault(net, OrderedDict())
        is_counted = fingerprint not in memo
        memo[fingerprint] = now
        memo.move_to_end(fingerprint)
        while len(memo) > self._s.stale_memory:
            memo.popitem(last=False)
        locked_until: float | None = None
        if is_counted:
            acct.failures.append(_Failure(now, net, is_known))
        distinct = self._distinct(acct)
        under_attack = distinct >= self._s.attack_sources
        newly = under_attack and not acct.was_under_attack
        acct.was_under_attack = under_attack
        source_failures = sum(1 for f in acct.failures if f.network == net)
        if is_counted:
            threshold = self._threshold(acct, is_known, under_attack)
            if is_known:
                if source_failures >= threshold:
                    locked_until = now + self._lock_duration(acct)
                    acct.source_locked_until[net] = locked_until
                    self._note_lock(acct, now, net)
            else:
                unknown = sum(1 for f in acct.failures if not f.is_known)
                if unknown >= threshold and now >= acct.locked_until:
                    locked_until = now + self._lock_duration(acct)
                    acct.locked_until = locked_until
                    self._note_lock(acct, now, None)
        return FailureOutcome(is_counted, source_failures, locked_until, under_attack, newly,
                              distinct)

    def _note_lock(self, acct: _Account, now: float, net: str | None) -> None:
        acct.locks += 1
        acct.last_lock_at = now
        # the failures that caused this lock are spent; the next round starts afresh
        acct.failures = deque((f for f in acct.failures
                               if (f.network != net if net is not None else f.is_known)),
                              maxlen=acct.failures.maxlen)

    def state(self, user: str, addr: IpAddress, now: float) -> LockState:
        name = user.casefold()
        net = str(network_of(addr))
        is_known = self.is_known(name, addr)
        acct = self._accounts.get(name)
        if acct is None:
            return LockState(False, None, is_known, 0, 0, False)
        self._prune(acct, now)
        until: float | None = None
        if is_known:
            src_until = acct.source_locked_until.get(net, 0.0)
            if now < src_until:
                until = src_until
        elif now < acct.locked_until:
            until = acct.locked_until
        src_failures = sum(1 for f in acct.failures if f.network == net)
        unknown = sum(1 for f in acct.failures if not f.is_known)
        under_attack = self._distinct(acct) >= self._s.attack_sources
        return LockState(until is not None, until, is_known, src_failures, unknown,
                         under_attack)

    def account_summary(self, user: str, now: float) -> tuple[float | None, int, int, bool]:
        """(unknown sources locked until, failures in the window, distinct failing networks,
        under attack) for ``guard status``."""
        acct = self._accounts.get(user.casefold())
        if acct is None:
            return None, 0, 0, False
        self._prune(acct, now)
        distinct = self._distinct(acct)
        until = acct.locked_until if now < acct.locked_until else None
        return until, len(acct.failures), distinct, distinct >= self._s.attack_sources

    def locked_since(self, user: str) -> float | None:
        """When the account's latest lockout began (None if it never was)."""
        acct = self._accounts.get(user.casefold())
        return acct.last_lock_at if acct is not None and acct.locks else None

    def tracks(self, user: str) -> bool:
        """True when failures (or a lockout) of ``user`` are held."""
        return user.casefold() in self._accounts

    def unlock(self, user: str) -> bool:
        return self._accounts.pop(user.casefold(), None) is not None

    # -- persistence (guard state survives a restart) -----------------------------------
    def snapshot(self, user: str, now: float) -> AccountCounters | None:
        """What to keep of ``user`` (case-folded); None when nothing is worth keeping."""
        name = user.casefold()
        acct = self._accounts.get(name)
        if acct is None:
            return None
        self._prune(acct, now)
        locks = tuple((net, until) for net, until in acct.source_locked_until.items()
                      if until > now)
        stale = tuple(StalePassword(net, fp.hex(), at) for net, memo in acct.stale.items()
                      for fp, at in memo.items())
        if not (acct.failures or stale or locks or acct.locks or acct.locked_until > now):
            return None
        return AccountCounters(name, tuple(FailureMark(f.at, f.network, f.is_known)
                                           for f in acct.failures),
                               stale, acct.locked_until, locks, acct.locks, acct.last_lock_at,
                               acct.was_under_attack)

    def restore(self, records: list[AccountCounters]) -> None:
        for rec in records:
            acct = self._account(rec.user.casefold())
            acct.failures = deque((_Failure(f.at, f.network, f.is_known) for f in rec.failures),
                                  maxlen=acct.failures.maxlen)
            acct.stale = {}
            for p in sorted(rec.stale, key=lambda p: p.at):
                try:
                    fp = bytes.fromhex(p.fingerprint)
                except ValueError:
                    continue
                acct.stale.setdefault(p.network, OrderedDict())[fp] = p.at
            acct.locked_until = rec.locked_until
            acct.source_locked_until = dict(rec.network_locks)
            acct.locks = rec.locks
            acct.last_lock_at = rec.last_lock_at
            acct.was_under_attack = rec.was_under_attack
