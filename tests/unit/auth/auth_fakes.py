"""In-memory fakes of the store Protocols auth needs (no Mock)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace

from mailfort.audit.events import SecurityEvent
from mailfort.store.security import (
    AccountCounters,
    AppPassword,
    Ban,
    IssuedToken,
    KnownSource,
    MfaSecret,
    Pardon,
    PasswordState,
    SourceCounters,
)
from mailfort.store.types import User, UserId


class FakeClock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.t = start

    def now(self) -> float:
        return self.t

    def monotonic(self) -> float:
        return self.t


class ListSink:
    def __init__(self) -> None:
        self.events: list[SecurityEvent] = []

    def emit(self, event: SecurityEvent) -> None:
        self.events.append(event)

    def kinds(self) -> list[str]:
        return [type(e).__name__ for e in self.events]


class MemoryUsers:
    def __init__(self) -> None:
        self.rows: dict[str, User] = {}

    async def create(self, name: str, password_hash: str) -> User:
        user = User(UserId(len(self.rows) + 1), name, password_hash,
                    dt.datetime.now(dt.UTC))
        self.rows[name.casefold()] = user
        return user

    async def get(self, name: str) -> User | None:
        return self.rows.get(name.casefold())

    async def get_by_id(self, user_id: UserId) -> User | None:
        return next((u for u in self.rows.values() if u.id == user_id), None)

    async def set_password_hash(self, user_id: UserId, password_hash: str) -> None:
        for key, u in self.rows.items():
            if u.id == user_id:
                self.rows[key] = replace(u, password_hash=password_hash)

    async def delete(self, name: str) -> None:
        self.rows.pop(name.casefold(), None)

    async def list(self) -> list[User]:
        return list(self.rows.values())


class MemorySecurity:
    """One object implementing every Protocol of store.security."""

    def __init__(self) -> None:
        self.mfa: dict[UserId, MfaSecret] = {}
        self.codes: dict[UserId, list[str]] = {}
        self.apps: dict[str, AppPassword] = {}
        self.tokens: dict[str, IssuedToken] = {}
        self.bans: dict[str, Ban] = {}
        self.known: dict[tuple[str, str], KnownSource] = {}
        self.states: dict[UserId, PasswordState] = {}
        self.account_rows: dict[str, AccountCounters] = {}
        self.source_rows: dict[str, SourceCounters] = {}
        self.pardons: list[Pardon] = []
        self.saves = 0  # transactions of save_counters


class MemoryMfaSecrets:
    def __init__(self, db: MemorySecurity) -> None:
        self.db = db

    async def get(self, user_id: UserId) -> MfaSecret | None:
        return self.db.mfa.get(user_id)

    async def put(self, secret: MfaSecret) -> None:
        self.db.mfa[secret.user_id] = secret

    async def set_last_used_step(self, user_id: UserId, step: int) -> bool:
        cur = self.db.mfa.get(user_id)
        if cur is None or step <= cur.last_used_step:
            return False
        self.db.mfa[user_id] = replace(cur, last_used_step=step)
        return True

    async def delete(self, user_id: UserId) -> None:
        self.db.mfa.pop(user_id, None)


class MemoryRecoveryCodes:
    def __init__(self, db: MemorySecurity) -> None:
        self.db = db

    async def replace(self, user_id: UserId, code_hashes: list[str]) -> None:
        self.db.codes[user_id] = list(code_hashes)

    async def consume(self, user_id: UserId, code_hash: str) -> bool:
        codes = self.db.codes.get(user_id, [])
        if code_hash in codes:
            codes.remove(code_hash)
            return True
        return False

    async def count(self, user_id: UserId) -> int:
        return len(self.db.codes.get(user_id, []))


class MemoryAppPasswords:
    def __init__(self, db: MemorySecurity) -> None:
        self.db = db

    async def add(self, app_password: AppPassword) -> None:
        self.db.apps[app_password.id] = app_password

    async def list(self, user_id: UserId) -> list[AppPassword]:
        return [a for a in self.db.apps.values() if a.user_id == user_id]

    async def revoke(self, user_id: UserId, app_password_id: str, at: float) -> bool:
        a = self.db.apps.get(app_password_id)
        if a is None or a.user_id != user_id or a.revoked_at is not None:
            return False
        self.db.apps[a.id] = replace(a, revoked_at=at)
        return True

    async def mark_used(self, app_password_id: str, at: float, peer: str) -> None:
        a = self.db.apps[app_password_id]
        self.db.apps[a.id] = replace(a, last_used_at=at, last_used_peer=peer)


class MemoryTokens:
    def __init__(self, db: MemorySecurity) -> None:
        self.db = db

    async def add(self, token: IssuedToken) -> None:
        self.db.tokens[token.id] = token

    async def get(self, token_id: str) -> IssuedToken | None:
        return self.db.tokens.get(token_id)

    async def revoke(self, token_id: str, at: float) -> bool:
        t = self.db.tokens.get(token_id)
        if t is None or t.revoked_at is not None:
            return False
        self.db.tokens[token_id] = replace(t, revoked_at=at)
        return True

    async def revoke_all(self, user_id: UserId, at: float) -> int:
        ids = [t.id for t in self.db.tokens.values() if t.user_id == user_id]
        return sum([await self.revoke(i, at) for i in ids])

    async def purge_expired(self, before: float) -> int:
        old = [k for k, t in self.db.tokens.items() if t.expires_at < before]
        for k in old:
            del self.db.tokens[k]
        return len(old)


class MemoryGuardState:
    def __init__(self, db: MemorySecurity) -> None:
        self.db = db

    async def bans(self) -> list[Ban]:
        return list(self.db.bans.values())

    async def put_ban(self, ban: Ban) -> None:
        self.db.bans[ban.source] = ban

    async def delete_ban(self, source: str) -> bool:
        return self.db.bans.pop(source, None) is not None

    async def known_sources(self) -> list[KnownSource]:
        return list(self.db.known.values())

    async def put_known_source(self, source: KnownSource) -> None:
        self.db.known[(source.user, source.network)] = source

    async def counters(self) -> tuple[list[AccountCounters], list[SourceCounters]]:
        return list(self.db.account_rows.values()), list(self.db.source_rows.values())

    async def save_counters(self, accounts: Sequence[AccountCounters],
                            sources: Sequence[SourceCounters], *,
                            forget_accounts: Sequence[str] = (),
                            forget_sources: Sequence[str] = ()) -> None:
        self.db.saves += 1
        for name in forget_accounts:
            self.db.account_rows.pop(name, None)
        for key in forget_sources:
            self.db.source_rows.pop(key, None)
        self.db.account_rows.update((a.user, a) for a in accounts)
        self.db.source_rows.update((s.source, s) for s in sources)

    async def add_pardon(self, subject: str, at: float) -> int:
        self.db.pardons.append(Pardon(len(self.db.pardons) + 1, subject, at))
        return len(self.db.pardons)

    async def pardons_after(self, seq: int) -> list[Pardon]:
        return [p for p in self.db.pardons if p.seq > seq]


class MemoryPasswordStates:
    def __init__(self, db: MemorySecurity) -> None:
        self.db = db

    async def get(self, user_id: UserId) -> PasswordState | None:
        return self.db.states.get(user_id)

    async def put(self, state: PasswordState) -> None:
        self.db.states[state.user_id] = state
