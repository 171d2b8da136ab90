"""Persistence of account-security state: the Protocols ``auth`` and ``guard`` need.

In mail and domain terms only: users by ``UserId`` (accounts that exist), login names as
strings where the account may not exist (the guard keys by name, so refusing an unknown name
costs the same as a known one). Backends: ``store.sqlite.security`` (and later postgres).
Every write is durable when its coroutine returns. Times are seconds since the epoch.

Secrets are never stored in the clear except the TOTP seed, which the server needs to compute
codes; backends should keep it in a file the service alone can read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from mailfort.store.types import UserId

__all__ = ["MfaSecret", "AppPassword", "IssuedToken", "BanKind", "Ban", "KnownSource",
           "PasswordState", "FailureMark", "StalePassword", "AccountCounters", "SourceCounters",
           "Pardon", "MfaSecrets", "RecoveryCodes", "AppPasswords", "Tokens",
           "GuardState", "PasswordStates", "SecurityStore"]


@dataclass(frozen=True, slots=True)
class MfaSecret:
    user_id: UserId
    totp_secret: str  # base32 seed (RFC 4648), shown once at enrolment
    is_confirmed: bool  # False until the first code has been checked
    created_at: float
    last_used_step: int  # the last accepted TOTP time step; a code is never accepted twice


@dataclass(frozen=True, slots=True)
class AppPassword:
    id: str  # random, public: shown in lists, used to revoke
    user_id: UserId
    name: str  # the device, e.g. "Thunderbird on laptop"
    secret_hash: str  # hex SHA-256 of the high-entropy secret; the secret is shown once
    scope: str  # "imap"
    created_at: float
    expires_at: float | None
    last_used_at: float | None
    last_used_peer: str | None
    revoked_at: float | None

    def is_usable(self, now: float) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    id: str  # the token's "jti"
    user_id: UserId
    issued_at: float
    expires_at: float
    revoked_at: float | None


class BanKind(Enum):
    ADDRESS = "address"  # one IP address
    NETWORK = "network"  # an IPv4 /24 or IPv6 /64


@dataclass(frozen=True, slots=True)
class Ban:
    source: str  # "192.0.2.7" or "192.0.2.0/24"
    kind: BanKind
    reason: str  # words for `guard status`
    since: float
    until: float | None  # None: until lifted by hand
    repeats: int  # how many bans this source had before (grows the next one)
    is_manual: bool


@dataclass(frozen=True, slots=True)
class KnownSource:
    """An address network a user has logged in from successfully (smart lockout)."""

    user: str  # login name, case-folded
    network: str  # "/24" or "/64" network in CIDR form
    first_seen: float
    last_seen: float


@dataclass(frozen=True, slots=True)
class FailureMark:
    """One counted failed login of an account (smart lockout)."""

    at: float
    network: str  # the source's /24 or /64
    is_known: bool  # the account had logged in from that network before


@dataclass(frozen=True, slots=True)
class StalePassword:
    """A recently failed password of an account from a network, as a keyed fingerprint (hex
    of an HMAC whose key is not in the database), so a retried stale password counts once."""

    network: str
    fingerprint: str
    at: float


@dataclass(frozen=True, slots=True)
class AccountCounters:
    """What the guard knows of an account's failed logins: enough to carry its lockout and
    the attacker's remaining budget across a restart."""

    user: str  # login name, case-folded (the account may not exist)
    failures: tuple[FailureMark, ...]
    stale: tuple[StalePassword, ...]
    locked_until: float  # unknown sources are refused until then (0: never locked)
    network_locks: tuple[tuple[str, float], ...]  # a known network locked on its own: until
    locks: int  # lockouts so far (each next one is longer and comes sooner)
    last_lock_at: float
    was_under_attack: bool


@dataclass(frozen=True, slots=True)
class SourceCounters:
    """What the guard knows of a source's (address or network) failed logins."""

    source: str  # "192.0.2.7" or "192.0.2.0/24"
    failures: tuple[float, ...]  # times of counted failures
    accounts: tuple[tuple[str, float], ...]  # distinct accounts tried: last time each
    bans_so_far: int  # grows the next ban
    last_ban_at: float


@dataclass(frozen=True, slots=True)
class Pardon:
    """An administrator lifted a ban or a lockout (``mailfort guard unban``): a running
    server that still holds it in memory drops it when it reads this."""

    seq: int  # increasing; a server remembers the last one it applied
    subject: str  # a source ("192.0.2.7", "192.0.2.0/24") or a case-folded login name
    at: float


@dataclass(frozen=True, slots=True)
class PasswordState:
    user_id: UserId
    changed_at: float | None  # None: unknown (e.g. imported)
    must_change: bool  # set by an admin, or by a detection of compromise


class MfaSecrets(Protocol):
    async def get(self, user_id: UserId) -> MfaSecret | None: ...
    async def put(self, secret: MfaSecret) -> None:
        """Insert or replace the user's one TOTP secret."""
        ...

    async def set_last_used_step(self, user_id: UserId, step: int) -> bool:
        """Record an accepted step only if it is newer than the stored one (atomically);
        False when a code for this or a later step was already accepted (a replay)."""
        ...

    async def delete(self, user_id: UserId) -> None: ...


class RecoveryCodes(Protocol):
    async def replace(self, user_id: UserId, code_hashes: list[str]) -> None:
        """Drop the user's codes and store these (hex SHA-256 each)."""
        ...

    async def consume(self, user_id: UserId, code_hash: str) -> bool:
        """Delete this code if present; True if it was there (each code works once)."""
        ...

    async def count(self, user_id: UserId) -> int: ...


class AppPasswords(Protocol):
    async def add(self, app_password: AppPassword) -> None: ...
    async def list(self, user_id: UserId) -> list[AppPassword]: ...
    async def revoke(self, user_id: UserId, app_password_id: str, at: float) -> bool:
        """False if there is no such unrevoked app password of this user."""
        ...

    async def mark_used(self, app_password_id: str, at: float, peer: str) -> None: ...


class Tokens(Protocol):
    async def add(self, token: IssuedToken) -> None: ...
    async def get(self, token_id: str) -> IssuedToken | None: ...
    async def revoke(self, token_id: str, at: float) -> bool: ...
    async def revoke_all(self, user_id: UserId, at: float) -> int: ...
    async def purge_expired(self, before: float) -> int: ...


class GuardState(Protocol):
    """What the guard keeps across a restart: bans and the sources users are known from."""

    async def bans(self) -> list[Ban]: ...
    async def put_ban(self, ban: Ban) -> None:
        """Insert or replace the ban of ``ban.source``."""
        ...

    async def delete_ban(self, source: str) -> bool: ...
    async def known_sources(self) -> list[KnownSource]: ...
    async def put_known_source(self, source: KnownSource) -> None: ...

    # Failure counters and lockouts: written in batches (one transaction per call), so a
    # restart does not reset an attacker's budget.
    async def counters(self) -> tuple[list[AccountCounters], list[SourceCounters]]: ...
    async def save_counters(self, accounts: Sequence[AccountCounters],
                            sources: Sequence[SourceCounters], *,
                            forget_accounts: Sequence[str] = (),
                            forget_sources: Sequence[str] = ()) -> None:
        """In one transaction: insert or replace these, delete the forgotten ones."""
        ...

    async def add_pardon(self, subject: str, at: float) -> int:
        """Record that ``subject``'s ban or lockout was lifted; returns its ``seq``. Pardons
        older than a day are dropped meanwhile."""
        ...

    async def pardons_after(self, seq: int) -> list[Pardon]:
        """Pardons with a greater ``seq``, oldest first."""
        ...


class PasswordStates(Protocol):
    async def get(self, user_id: UserId) -> PasswordState | None: ...
    async def put(self, state: PasswordState) -> None: ...


class SecurityStore(Protocol):
    @property
    def mfa_secrets(self) -> MfaSecrets: ...
    @property
    def recovery_codes(self) -> RecoveryCodes: ...
    @property
    def app_passwords(self) -> AppPasswords: ...
    @property
    def tokens(self) -> Tokens: ...
    @property
    def guard_state(self) -> GuardState: ...
    @property
    def password_states(self) -> PasswordStates: ...
