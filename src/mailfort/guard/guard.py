"""The guard facade: may this source connect, may it try this login now, and what follows from
the result. Every door (IMAP now, LMTP and the console later) goes through one ``Guard``.

    decision = guard.check_connect(peer)          # at accept, before any greeting
    ...                                           # refuse with BYE [UNAVAILABLE] if not allowed
    login = guard.check_login(user, peer)         # before verifying a credential
    await sleep(login.delay_s)                    # the progressive delay, on this connection
    ...verify...
    await guard.record(LoginAttempt(...))         # success or failure (and why)
    guard.authenticated(ticket, user)             # after success: per-user connection limit
    guard.release(ticket)                         # when the connection closes

``check_connect``/``check_login`` are synchronous and cheap (dictionary look-ups); ``record``
persists new bans and known networks through ``store.security.GuardState``. Every decision
emits a typed event on the ``EventSink``.

Guard state survives a restart and is shared with the CLI: failure counters, lockouts and the
recent-failed-password fingerprints are written in batches by ``flush`` (the server calls
``sync`` every ``[guard] state_sync_interval_s`` and on SIGHUP: never one write per failed
login), and ``load`` restores them. ``sync`` also adopts bans made by ``mailfort guard ban``
and drops bans and lockouts lifted by ``mailfort guard unban`` (recorded as pardons).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

from mailfort.audit.events import (
    AccountLocked,
    AccountUnderAttack,
    ConnectionRefusalReason,
    ConnectionRefused,
    CredentialStuffingDetected,
    EventSink,
    LoginDelayed,
    LoginFailed,
    LoginFailureReason,
    LoginRefused,
    LoginSucceeded,
    SourceBanned,
    SourceUnbanned,
)
from mailfort.core.clock import Clock
from mailfort.core.secret import Secret
from mailfort.guard.bans import BanList, BanSettings
from mailfort.guard.errors import InvalidSource
from mailfort.guard.ippolicy import (
    IpPolicy,
    IpPolicySettings,
    network_of,
    parse_peer,
    parse_source,
)
from mailfort.guard.lockout import LockoutSettings, SmartLockout
from mailfort.guard.ratelimit import (
    ConnectionLimiter,
    ConnectionLimitSettings,
    ConnectionTicket,
    DelaySchedule,
)
from mailfort.store.security import Ban, GuardState, Pardon

__all__ = ["GuardSettings", "ConnectDecision", "LoginDecision", "LoginAttempt", "Guard",
           "REFUSAL_TEXT"]

# Words for the wire, one per reason (no internals, no credentials).
REFUSAL_TEXT: dict[ConnectionRefusalReason, str] = {
    ConnectionRefusalReason.BANNED:
        "Too many failed logins from your address; try again later",
    ConnectionRefusalReason.DENIED_BY_POLICY: "Connections from your address are not allowed",
    ConnectionRefusalReason.NOT_IN_USER_ALLOWLIST:
        "This account may not log in from your address",
    ConnectionRefusalReason.LIMIT_TOTAL_PER_ADDRESS:
        "Too many connections from your address",
    ConnectionRefusalReason.LIMIT_PRE_AUTH_PER_ADDRESS:
        "Too many unauthenticated connections from your address",
    ConnectionRefusalReason.LIMIT_PER_USER_AND_ADDRESS:
        "Too many connections for this account from your address",
    ConnectionRefusalReason.LOCKED_OUT:
        "Too many failed logins for this account from your address; try again later",
}


@dataclass(frozen=True, slots=True)
class GuardSettings:
    lockout: LockoutSettings = field(default_factory=LockoutSettings)
    bans: BanSettings = field(default_factory=BanSettings)
    limits: ConnectionLimitSettings = field(default_factory=ConnectionLimitSettings)
    ip: IpPolicySettings = field(default_factory=IpPolicySettings)
    delays: DelaySchedule = field(default_factory=DelaySchedule)


@dataclass(frozen=True, slots=True)
class ConnectDecision:
    is_allowed: bool
    ticket: ConnectionTicket | None
    reason: ConnectionRefusalReason | None
    message: str  # words for BYE when refused; "" when allowed


@dataclass(frozen=True, slots=True)
class LoginDecision:
    is_allowed: bool
    delay_s: float  # wait this long on this connection before evaluating (when allowed)
    reason: ConnectionRefusalReason | None
    message: str
    retry_after: float | None = None  # when refused: epoch seconds when it may work again


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """The result of evaluating one credential. ``password`` is used only to derive a keyed
    fingerprint (so a repeated stale password counts once); it is never stored."""

    user: str
    peer: str
    is_success: bool
    failure: LoginFailureReason | None = None
    password: Secret[str] | None = None
    method: str = "password"


def _when(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class Guard:
    def __init__(self, settings: GuardSettings, state: GuardState, clock: Clock,
                 sink: EventSink, *, fingerprint_key: bytes | None = None) -> None:
        self._settings = settings
        self._state = state
        self._clock = clock
        self._sink = sink
        self._policy = IpPolicy(settings.ip)
        self._bans = BanList(settings.bans, self._policy)
        self._lockout = SmartLockout(settings.lockout)
        self._limits = ConnectionLimiter(settings.limits)
        self._key = fingerprint_key or secrets.token_bytes(32)
        # Batched persistence: names changed since the last flush, and names to delete.
        self._dirty_accounts: set[str] = set()
        self._dirty_sources: set[str] = set()
        self._gone_accounts: set[str] = set()
        self._gone_sources: set[str] = set()
        self._pardon_seq = 0

    @property
    def policy(self) -> IpPolicy:
        return self._policy

    async def load(self) -> None:
        """Restore bans and known networks (guard state survives a restart)."""
        lifted = self._bans.load(await self._state.bans())
        now = self._clock.now()
        for ban in lifted:
            await self._state.delete_ban(ban.source)
            self._sink.emit(SourceUnbanned(now, ban.source, "allowlist"))
        self._lockout.load_known(await self._state.known_sources())
        accounts, sources = await self._state.counters()
        self._lockout.restore(accounts)
        self._bans.restore(sources)
        pardons = await self._state.pardons_after(0)
        newest = {a.user: max((f.at for f in a.failures), default=0.0) for a in accounts}
        newest.update({s.source: max(s.failures, default=0.0) for s in sources})
        for pardon in pardons:
            # A pardon the server never applied (it stopped first) still holds, unless
            # there were failures after it.
            if newest.get(pardon.subject, 0.0) <= pardon.at:
                await self._pardon(pardon, is_loading=True)
        self._pardon_seq = max((p.seq for p in pardons), default=0)
        for acct in accounts:  # nothing left to keep after the windows passed: delete
            if self._lockout.snapshot(acct.user, now) is None:
                self._gone_accounts.add(acct.user)
        for src in sources:
            if self._bans.snapshot(src.source, now) is None:
                self._gone_sources.add(src.source)

    # -- connections ---------------------------------------------------------------------
    def check_connect(self, peer: str) -> ConnectDecision:
        now = self._clock.now()
        try:
            addr = parse_peer(peer)
        except InvalidSource:
            return self._refuse_connect(peer, ConnectionRefusalReason.DENIED_BY_POLICY, now)
        if self._policy.is_denied(addr):
            return self._refuse_connect(peer, ConnectionRefusalReason.DENIED_BY_POLICY, now)
        if self._bans.active(addr, now) is not None:
            return self._refuse_connect(peer, ConnectionRefusalReason.BANNED, now)
        opened = self._limits.open(addr)
        if isinstance(opened, ConnectionRefusalReason):
            return self._refuse_connect(peer, opened, now)
        return ConnectDecision(True, opened, None, "")

    def _refuse_connect(self, peer: str, reason: ConnectionRefusalReason,
                        now: float) -> ConnectDecision:
        self._sink.emit(ConnectionRefused(now, peer, reason))
        return ConnectDecision(False, None, reason, REFUSAL_TEXT[reason])

    def authenticated(self, ticket: ConnectionTicket, user: str) -> LoginDecision:
        """Count the connection against ``user`` once logged in; refused (NO [LIMIT]) when
        the per-user-and-address limit is reached."""
        if self._limits.authenticated(ticket, user):
            return LoginDecision(True, 0.0, None, "")
        reason = ConnectionRefusalReason.LIMIT_PER_USER_AND_ADDRESS
        self._sink.emit(LoginRefused(self._clock.now(), user, str(ticket.address), reason))
        return LoginDecision(False, 0.0, reason, REFUSAL_TEXT[reason])

    def release(self, ticket: ConnectionTicket) -> None:
        self._limits.close(ticket)

    # -- logins --------------------------------------------------------------------------
    def check_login(self, user: str, peer: str) -> LoginDecision:
        now = self._clock.now()
        try:
            addr = parse_peer(peer)
        except InvalidSource:
            return self._refuse_login(user, peer, ConnectionRefusalReason.DENIED_BY_POLICY,
                                      now, None)
        ban = self._bans.active(addr, now)
        if ban is not None:
            return self._refuse_login(user, peer, ConnectionRefusalReason.BANNED, now,
                                      ban.until)
        if not self._policy.is_user_allowed(user, addr):
            return self._refuse_login(user, peer, ConnectionRefusalReason.NOT_IN_USER_ALLOWLIST,
                                      now, None)
        if self._policy.is_trusted(addr):
            return LoginDecision(True, 0.0, None, "")
        state = self._lockout.state(user, addr, now)
        if state.is_locked:
            return self._refuse_login(user, peer, ConnectionRefusalReason.LOCKED_OUT, now,
                                      state.until)
        delay = self._settings.delays.delay_for(state.source_failures)
        if delay > 0:
            self._sink.emit(LoginDelayed(now, user, peer, delay))
        return LoginDecision(True, delay, None, "")

    def _refuse_login(self, user: str, peer: str, reason: ConnectionRefusalReason, now: float,
                      until: float | None) -> LoginDecision:
        self._sink.emit(LoginRefused(now, user, peer, reason))
        return LoginDecision(False, 0.0, reason, REFUSAL_TEXT[reason], until)

    def _fingerprint(self, user: str, password: Secret[str] | None) -> bytes:
        if password is None:
            return secrets.token_bytes(16)  # nothing to compare: every such failure counts
        msg = user.casefold().encode() + b"\0" + password.reveal().encode("utf-8", "replace")
        return hmac.new(self._key, msg, hashlib.sha256).digest()[:16]

    async def record_login(self, user: str, peer: str, *, is_success: bool,
                           failure: LoginFailureReason | None = None,
                           password: Secret[str] | None = None,
                           method: str = "password") -> None:
        """``record`` in the shape of ``auth.login.LoginGuard`` (auth does not import guard)."""
        await self.record(LoginAttempt(user, peer, is_success, failure, password, method))

    async def record(self, attempt: LoginAttempt) -> None:
        now = self._clock.now()
        try:
            addr = parse_peer(attempt.peer)
        except InvalidSource:
            return
        if attempt.is_success:
            is_known = self._lockout.is_known(attempt.user, addr)
            known = self._lockout.record_success(attempt.user, addr, now)
            self._sink.emit(LoginSucceeded(now, attempt.user, attempt.peer, attempt.method,
                                           is_known))
            if self._lockout.tracks(attempt.user):
                self._dirty_accounts.add(attempt.user.casefold())
            await self._state.put_known_source(known)
            return
        reason = attempt.failure or LoginFailureReason.BAD_PASSWORD
        if self._policy.is_trusted(addr):
            self._sink.emit(LoginFailed(now, attempt.user, attempt.peer, reason, False))
            return
        outcome = self._lockout.record_failure(
            attempt.user, addr, self._fingerprint(attempt.user, attempt.password), now)
        self._dirty_accounts.add(attempt.user.casefold())
        self._dirty_sources.update((str(addr), str(network_of(addr))))
        self._sink.emit(LoginFailed(now, attempt.user, attempt.peer, reason,
                                    outcome.is_counted))
        if outcome.locked_until is not None:
            self._sink.emit(AccountLocked(now, attempt.user, attempt.peer,
                                          outcome.source_failures, outcome.locked_until))
        if outcome.is_newly_under_attack:
            self._sink.emit(AccountUnderAttack(now, attempt.user, outcome.distinct_sources))
        for ban_outcome in self._bans.record_failure(addr, attempt.user, outcome.is_counted,
                                                     now):
            ban = ban_outcome.ban
            if ban_outcome.is_stuffing:
                self._sink.emit(CredentialStuffingDetected(now, ban.source,
                                                           ban_outcome.distinct_accounts))
            self._sink.emit(SourceBanned(now, ban.source, ban.reason, ban.until, ban.repeats))
            await self._state.put_ban(ban)

    # -- administration ------------------------------------------------------------------
    async def ban(self, source: str, *, duration_s: float | None = None,
                  reason: str = "banned by an administrator") -> Ban | None:
        """None when the source is allowlisted or trusted (never banned)."""
        now = self._clock.now()
        ban = self._bans.ban(source, reason, now, duration_s=duration_s, is_manual=True,
                             is_permanent=duration_s is None)
        if ban is not None:
            await self._state.put_ban(ban)
            self._sink.emit(SourceBanned(now, ban.source, ban.reason, ban.until, ban.repeats))
        return ban

    async def unban(self, source: str) -> bool:
        """Lift the ban of ``source`` and forget its history, here and (through a pardon in
        the store) in a running server at its next ``sync``."""
        key = str(parse_source(source))
        ban = self._bans.unban(key)
        self._bans.forget(key)
        deleted = await self._state.delete_ban(key)
        self._dirty_sources.discard(key)
        await self._state.save_counters([], [], forget_sources=[key])
        if ban is not None or deleted:
            await self._state.add_pardon(key, self._clock.now())
            self._sink.emit(SourceUnbanned(self._clock.now(), key, "admin"))
            return True
        return False

    def unlock(self, user: str) -> bool:
        """Forget ``user``'s failures and lockout in this process only (see ``lift``)."""
        return self._lockout.unlock(user)

    async def lift(self, user: str) -> bool:
        """Clear ``user``'s failures and lockout here, in the store, and (through a pardon)
        in a running server at its next ``sync``. True if a lockout or failures were held."""
        name = user.casefold()
        now = self._clock.now()
        until, failures, _, _ = self._lockout.account_summary(name, now)
        self._lockout.unlock(name)
        self._dirty_accounts.discard(name)
        await self._state.save_counters([], [], forget_accounts=[name])
        await self._state.add_pardon(name, now)
        return until is not None or failures > 0

    # -- persistence -----------------------------------------------------------------------
    async def _pardon(self, pardon: Pardon, *, is_loading: bool = False) -> None:
        try:
            key: str | None = str(parse_source(pardon.subject))
        except InvalidSource:
            key = None
        if key is not None:
            ban = self._bans.unban(key)
            self._bans.forget(key)
            self._dirty_sources.discard(key)
            self._gone_sources.add(key)
            if ban is not None:
                if is_loading:
                    await self._state.delete_ban(key)
                self._sink.emit(SourceUnbanned(self._clock.now(), key, "admin"))
            return
        name = pardon.subject.casefold()
        self._lockout.unlock(name)
        self._dirty_accounts.discard(name)
        self._gone_accounts.add(name)

    async def flush(self) -> int:
        """Write the counters changed since the last flush, in one transaction; returns how
        many records were written or deleted."""
        if not (self._dirty_accounts or self._dirty_sources or self._gone_accounts
                or self._gone_sources):
            return 0
        now = self._clock.now()
        dirty_accounts, self._dirty_accounts = self._dirty_accounts, set()
        dirty_sources, self._dirty_sources = self._dirty_sources, set()
        gone_accounts, self._gone_accounts = self._gone_accounts, set()
        gone_sources, self._gone_sources = self._gone_sources, set()
        accounts = []
        for name in sorted(dirty_accounts):
            snap = self._lockout.snapshot(name, now)
            if snap is None:
                gone_accounts.add(name)
            else:
                accounts.append(snap)
                gone_accounts.discard(name)
        sources = []
        for key in sorted(dirty_sources):
            src = self._bans.snapshot(key, now)
            if src is None:
                gone_sources.add(key)
            else:
                sources.append(src)
                gone_sources.discard(key)
        try:
            await self._state.save_counters(accounts, sources,
                                            forget_accounts=sorted(gone_accounts),
                                            forget_sources=sorted(gone_sources))
        except BaseException:  # keep them for the next flush
            self._dirty_accounts |= dirty_accounts
            self._dirty_sources |= dirty_sources
            self._gone_accounts |= gone_accounts
            self._gone_sources |= gone_sources
            raise
        return len(accounts) + len(sources) + len(gone_accounts) + len(gone_sources)

    async def sync(self) -> None:
        """The server's periodic (and SIGHUP) turn: apply pardons and bans made by the CLI,
        drop bans whose time is up, and write the changed counters."""
        for pardon in await self._state.pardons_after(self._pardon_seq):
            await self._pardon(pardon)
            self._pardon_seq = max(self._pardon_seq, pardon.seq)
        now = self._clock.now()
        for ban in await self._state.bans():
            if (ban.until is None or now < ban.until) and self._bans.replace(ban):
                self._sink.emit(SourceBanned(now, ban.source, ban.reason, ban.until,
                                             ban.repeats))
        await self.expire()
        await self.flush()

    async def expire(self) -> int:
        """Drop bans whose time is up (call now and then); returns how many."""
        now = self._clock.now()
        gone = self._bans.expired(now)
        for ban in gone:
            await self._state.delete_ban(ban.source)
            self._sink.emit(SourceUnbanned(now, ban.source, "expiry"))
        return len(gone)

    def bans(self) -> list[Ban]:
        return self._bans.current(self._clock.now())

    def status(self, subject: str) -> list[str]:
        """Sentences explaining why an address, network or user is limited (or that it is
        not), since when, until when, and how to lift it."""
        now = self._clock.now()
        try:
            source = parse_source(subject)
        except InvalidSource:
            return self._user_status(subject, now)
        lines: list[str] = []
        addr = None if "/" in subject else parse_peer(subject)
        keys = [str(source)] if addr is None else [str(addr), str(network_of(addr))]
        if addr is not None:
            lines.extend(self._policy.describe(addr))
        for key in keys:
            ban = self._bans.get(key)
            if ban is not None and (ban.until is None or now < ban.until):
                until = "until lifted by hand" if ban.until is None else f"until {_when(ban.until)}"
                lines.append(f"{key} is banned since {_when(ban.since)} {until}: {ban.reason}. "
                             f"Lift it with `mailfort guard unban {key}`, or add the address "
                             "to the allowlist.")
            failures, accounts = self._bans.failure_counts(key, now)
            if failures or accounts:
                lines.append(f"{key} has {failures} counted failed logins in the last "
                             f"{round(self._settings.bans.window_s / 60)} minutes, on "
                             f"{accounts} different accounts.")
        if addr is not None:
            total, pre_auth = self._limits.open_count(addr)
            if total:
                lines.append(f"{addr} has {total} open connections, {pre_auth} not yet "
                             "logged in.")
        if not lines:
            lines.append(f"{subject} is not limited.")
        return lines

    def _user_status(self, user: str, now: float) -> list[str]:
        lines: list[str] = []
        until, failures, distinct, under_attack = self._lockout.account_summary(user, now)
        if until is not None:
            since = self._lockout.locked_since(user)
            began = f" since {_when(since)}" if since is not None else ""
            lines.append(f"{user} is locked for unknown addresses{began} until {_when(until)} "
                         "after repeated failed logins; addresses the user logged in from "
                         f"before still work. Lift it with `mailfort guard unban {user}`.")
        if failures:
            lines.append(f"{user} has {failures} counted failed logins in the last "
                         f"{round(self._settings.lockout.window_s / 60)} minutes from "
                         f"{distinct} unknown networks.")
        if under_attack:
            lines.append(f"{user} is under attack: many networks are failing to log in; "
                         "unknown addresses get fewer tries.")
        known = self._lockout.known_sources(user)
        if known:
            nets = ", ".join(k.network for k in known)
            lines.append(f"{user} is known from {len(known)} networks ({nets}); these are "
                         "never locked out by others' failures.")
        if self._policy.has_user_allowlist(user):
            lines.append(f"{user} may log in only from the networks in its allowlist.")
        if not lines:
            lines.append(f"{user} is not limited.")
        return lines
