"""``SqliteSecurityStore``: the SQLite implementation of every Protocol in ``store.security``.

It shares the mail store's database, its single writer thread and its read-only reader thread
(``store._Database``), and its schema comes with the store's migrations
(``migrations/0002_security.sql``). A write is durable when its coroutine returns (the commit
is fsynced to the WAL, ``synchronous=FULL``). Every operation is one statement or one short
transaction: lists are single queries, bulk changes single statements (no N+1).

Build it through ``SqliteMailStore.security``; nothing else constructs it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from mailfort.store.security import (
    AccountCounters,
    AppPassword,
    Ban,
    BanKind,
    FailureMark,
    IssuedToken,
    KnownSource,
    MfaSecret,
    Pardon,
    PasswordState,
    SourceCounters,
    StalePassword,
)
from mailfort.store.types import UserId

__all__ = ["SqliteSecurityStore", "SqliteMfaSecrets", "SqliteRecoveryCodes",
           "SqliteAppPasswords", "SqliteTokens", "SqliteGuardState", "SqliteGuardCounters",
           "SqlitePasswordStates"]

T = TypeVar("T")


class _Db(Protocol):
    """The part of ``store._Database`` used here (read and write transactions)."""

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T: ...
    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T: ...


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


# --------------------------------------------------------------------------- MFA secrets

def _mfa_row(row: Any) -> MfaSecret:
    user_id, secret, confirmed, created, step = row
    return MfaSecret(UserId(int(user_id)), str(secret), bool(confirmed),
                     float(created), int(step))


class SqliteMfaSecrets:
    def __init__(self, db: _Db) -> None:
        self._db = db

    async def get(self, user_id: UserId) -> MfaSecret | None:
        def q(c: sqlite3.Connection) -> MfaSecret | None:
            row = c.execute("SELECT user_id, totp_secret, is_confirmed, created_at, last_used_step "
                            "FROM mfa_secrets WHERE user_id = ?",
                            (int(user_id),)).fetchone()
            return None if row is None else _mfa_row(row)
        return await self._db.read(q)

    async def put(self, secret: MfaSecret) -> None:
        params = (int(secret.user_id), secret.totp_secret, int(secret.is_confirmed),
                  secret.created_at, secret.last_used_step)
        await self._db.write(lambda c: c.execute(
            "INSERT OR REPLACE INTO mfa_secrets (user_id, totp_secret, is_confirmed, created_at, "
            "last_used_step) VALUES (?, ?, ?, ?, ?)",
            params))

    async def set_last_used_step(self, user_id: UserId, step: int) -> bool:
        def q(c: sqlite3.Connection) -> bool:
            cur = c.execute("UPDATE mfa_secrets SET last_used_step = ? "
                            "WHERE user_id = ? AND last_used_step < ?",
                            (step, int(user_id), step))
            return cur.rowcount == 1
        return await self._db.write(q)

    async def delete(self, user_id: UserId) -> None:
        await self._db.write(lambda c: c.execute(
            "DELETE FROM mfa_secrets WHERE user_id = ?", (int(user_id),)))


# --------------------------------------------------------------------------- recovery codes

class SqliteRecoveryCodes:
    def __init__(self, db: _Db) -> None:
        self._db = db

    async def replace(self, user_id: UserId, code_hashes: list[str]) -> None:
        uid = int(user_id)
        rows = [(uid, h) for h in dict.fromkeys(code_hashes)]

        def q(c: sqlite3.Connection) -> None:
            c.execute("DELETE FROM recovery_codes WHERE user_id = ?", (uid,))
            c.executemany("INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)", rows)
        await self._db.write(q)

    async def consume(self, user_id: UserId, code_hash: str) -> bool:
        def q(c: sqlite3.Connection) -> bool:
            cur = c.execute("DELETE FROM recovery_codes WHERE user_id = ? AND code_hash = ?",
                            (int(user_id), code_hash))
            return cur.rowcount == 1
        return await self._db.write(q)

    async def count(self, user_id: UserId) -> int:
        def q(c: sqlite3.Connection) -> int:
            row = c.execute("SELECT count(*) FROM recovery_codes WHERE user_id = ?",
                            (int(user_id),)).fetchone()
            return int(row[0])
        return await self._db.read(q)


# --------------------------------------------------------------------------- app passwords

def _app_row(row: Any) -> AppPassword:
    (ident, user_id, name, secret_hash, scope, created, expires, used_at, used_peer,
     revoked) = row
    return AppPassword(str(ident), UserId(int(user_id)), str(name),
                       str(secret_hash), str(scope), float(created),
                       _opt_float(expires), _opt_float(used_at),
                       None if used_peer is None else str(used_peer), _opt_float(revoked))


class SqliteAppPasswords:
    def __init__(self, db: _Db) -> None:
        self._db = db

    async def add(self, app_password: AppPassword) -> None:
        a = app_password
        params = (a.id, int(a.user_id), a.name, a.secret_hash, a.scope, a.created_at,
                  a.expires_at, a.last_used_at, a.last_used_peer, a.revoked_at)
        await self._db.write(lambda c: c.execute(
            "INSERT INTO app_passwords (id, user_id, name, secret_hash, scope, created_at, "
            "expires_at, last_used_at, last_used_peer, revoked_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            params))

    async def list(self, user_id: UserId) -> list[AppPassword]:
        def q(c: sqlite3.Connection) -> list[AppPassword]:
            rows = c.execute("SELECT id, user_id, name, secret_hash, scope, created_at, "
                             "expires_at, last_used_at, last_used_peer, revoked_at "
                             "FROM app_passwords "
                             "WHERE user_id = ? "
                             "ORDER BY created_at, rowid", (int(user_id),)).fetchall()
            return [_app_row(r) for r in rows]
        return await self._db.read(q)

    async def revoke(self, user_id: UserId, app_password_id: str, at: float) -> bool:
        def q(c: sqlite3.Connection) -> bool:
            cur = c.execute("UPDATE app_passwords SET revoked_at = ? WHERE id = ? "
                            "AND user_id = ? AND revoked_at IS NULL",
                            (at, app_password_id, int(user_id)))
            return cur.rowcount == 1
        return await self._db.write(q)

    async def mark_used(self, app_password_id: str, at: float, peer: str) -> None:
        await self._db.write(lambda c: c.execute(
            "UPDATE app_passwords SET last_used_at = ?, last_used_peer = ? WHERE id = ?",
            (at, peer, app_password_id)))


# --------------------------------------------------------------------------- tokens

class SqliteTokens:
    def __init__(self, db: _Db) -> None:
        self._db = db

    async def add(self, token: IssuedToken) -> None:
        params = (token.id, int(token.user_id), token.issued_at, token.expires_at,
                  token.revoked_at)
        await self._db.write(lambda c: c.execute(
            "INSERT INTO issued_tokens (id, user_id, issued_at, expires_at, revoked_at) "
            "VALUES (?, ?, ?, ?, ?)", params))

    async def get(self, token_id: str) -> IssuedToken | None:
        def q(c: sqlite3.Connection) -> IssuedToken | None:
            row = c.execute("SELECT id, user_id, issued_at, expires_at, revoked_at "
                            "FROM issued_tokens WHERE id = ?",
                            (token_id,)).fetchone()
            if row is None:
                return None
            ident, user_id, issued, expires, revoked = row
            return IssuedToken(str(ident), UserId(int(user_id)), float(issued),
                               float(expires), _opt_float(revoked))
        return await self._db.read(q)

    async def revoke(self, token_id: str, at: float) -> bool:
        def q(c: sqlite3.Connection) -> bool:
            cur = c.execute("UPDATE issued_tokens SET revoked_at = ? "
                            "WHERE id = ? AND revoked_at IS NULL", (at, token_id))
            return cur.rowcount == 1
        return await self._db.write(q)

    async def revoke_all(self, user_id: UserId, at: float) -> int:
        def q(c: sqlite3.Connection) -> int:
            cur = c.execute("UPDATE issued_tokens SET revoked_at = ? "
                            "WHERE user_id = ? AND revoked_at IS NULL", (at, int(user_id)))
            return int(cur.rowcount)
        return await self._db.write(q)

    async def purge_expired(self, before: float) -> int:
        def q(c: sqlite3.Connection) -> int:
            cur = c.execute("DELETE FROM issued_tokens WHERE expires_at < ?", (before,))
            return int(cur.rowcount)
        return await self._db.write(q)


# --------------------------------------------------------------------------- guard state

def _account_json(a: AccountCounters) -> str:
    return json.dumps({
        "f": [[f.at, f.network, int(f.is_known)] for f in a.failures],
        "s": [[p.network, p.fingerprint, p.at] for p in a.stale],
        "l": a.locked_until, "n": [[net, until] for net, until in a.network_locks],
        "k": a.locks, "t": a.last_lock_at, "u": int(a.was_under_attack)},
        separators=(",", ":"))


def _account_from(user: str, data: str) -> AccountCounters:
    d = json.loads(data)
    return AccountCounters(
        user, tuple(FailureMark(float(at), str(net), bool(k)) for at, net, k in d["f"]),
        tuple(StalePassword(str(net), str(fp), float(at)) for net, fp, at in d["s"]),
        float(d["l"]), tuple((str(net), float(until)) for net, until in d["n"]),
        int(d["k"]), float(d["t"]), bool(d["u"]))


def _source_json(src: SourceCounters) -> str:
    return json.dumps({"f": list(src.failures), "a": [[u, t] for u, t in src.accounts],
                       "b": src.bans_so_far, "t": src.last_ban_at}, separators=(",", ":"))


def _source_from(source: str, data: str) -> SourceCounters:
    d = json.loads(data)
    return SourceCounters(source, tuple(float(t) for t in d["f"]),
                          tuple((str(u), float(t)) for u, t in d["a"]), int(d["b"]),
                          float(d["t"]))


_PARDON_MEMORY_S = 24 * 3600.0


class SqliteGuardCounters:
    """The counters half of ``SqliteGuardState`` (one JSON document per account or source)."""

    def __init__(self, db: _Db) -> None:
        self._db = db

    async def counters(self) -> tuple[list[AccountCounters], list[SourceCounters]]:
        def q(c: sqlite3.Connection) -> tuple[list[AccountCounters], list[SourceCounters]]:
            accounts = [_account_from(str(u), str(d)) for u, d in c.execute(
                "SELECT user, data FROM guard_account_counters ORDER BY user")]
            sources = [_source_from(str(s), str(d)) for s, d in c.execute(
                "SELECT source, data FROM guard_source_counters ORDER BY source")]
            return accounts, sources
        return await self._db.read(q)

    async def save_counters(self, accounts: Sequence[AccountCounters],
                            sources: Sequence[SourceCounters], *,
                            forget_accounts: Sequence[str] = (),
                            forget_sources: Sequence[str] = ()) -> None:
        account_rows = [(a.user, _account_json(a), max((f.at for f in a.failures), default=0.0))
                        for a in accounts]
        source_rows = [(s.source, _source_json(s), max(s.failures, default=0.0))
                       for s in sources]
        gone_accounts = [(u,) for u in forget_accounts]
        gone_sources = [(s,) for s in forget_sources]

        def q(c: sqlite3.Connection) -> None:
            c.executemany("DELETE FROM guard_account_counters WHERE user = ?", gone_accounts)
            c.executemany("DELETE FROM guard_source_counters WHERE source = ?", gone_sources)
            c.executemany("INSERT OR REPLACE INTO guard_account_counters (user, data, "
                          "updated_at) VALUES (?, ?, ?)", account_rows)
            c.executemany("INSERT OR REPLACE INTO guard_source_counters (source, data, "
                          "updated_at) VALUES (?, ?, ?)", source_rows)
        await self._db.write(q)

    async def add_pardon(self, subject: str, at: float) -> int:
        def q(c: sqlite3.Connection) -> int:
            c.execute("DELETE FROM guard_pardons WHERE at < ?", (at - _PARDON_MEMORY_S,))
            cur = c.execute("INSERT INTO guard_pardons (subject, at) VALUES (?, ?)",
                            (subject, at))
            return int(cur.lastrowid or 0)
        return await self._db.write(q)

    async def pardons_after(self, seq: int) -> list[Pardon]:
        def q(c: sqlite3.Connection) -> list[Pardon]:
            return [Pardon(int(n), str(subject), float(at)) for n, subject, at in c.execute(
                "SELECT seq, subject, at FROM guard_pardons WHERE seq > ? ORDER BY seq",
                (seq,))]
        return await self._db.read(q)



class SqliteGuardState(SqliteGuardCounters):
    def __init__(self, db: _Db) -> None:
        super().__init__(db)
        self._db = db

    async def bans(self) -> list[Ban]:
        def q(c: sqlite3.Connection) -> list[Ban]:
            rows = c.execute("SELECT source, kind, reason, since, until, repeats, is_manual "
                             "FROM guard_bans ORDER BY since, source"
                             ).fetchall()
            return [Ban(str(source), BanKind(str(kind)), str(reason), float(since),
                        _opt_float(until), int(repeats), bool(manual))
                    for source, kind, reason, since, until, repeats, manual in rows]
        return await self._db.read(q)

    async def put_ban(self, ban: Ban) -> None:
        params = (ban.source, ban.kind.value, ban.reason, ban.since, ban.until, ban.repeats,
                  int(ban.is_manual))
        await self._db.write(lambda c: c.execute(
            "INSERT OR REPLACE INTO guard_bans (source, kind, reason, since, until, repeats, "
            "is_manual) VALUES (?, ?, ?, ?, ?, ?, ?)",
            params))

    async def delete_ban(self, source: str) -> bool:
        def q(c: sqlite3.Connection) -> bool:
            return c.execute("DELETE FROM guard_bans WHERE source = ?",
                             (source,)).rowcount == 1
        return await self._db.write(q)

    async def known_sources(self) -> list[KnownSource]:
        def q(c: sqlite3.Connection) -> list[KnownSource]:
            rows = c.execute("SELECT user, network, first_seen, last_seen "
                             "FROM guard_known_sources ORDER BY user, network").fetchall()
            return [KnownSource(str(user), str(net), float(first), float(last))
                    for user, net, first, last in rows]
        return await self._db.read(q)

    async def put_known_source(self, source: KnownSource) -> None:
        params = (source.user, source.network, source.first_seen, source.last_seen)
        await self._db.write(lambda c: c.execute(
            "INSERT OR REPLACE INTO guard_known_sources (user, network, first_seen, last_seen) "
            "VALUES (?, ?, ?, ?)", params))


# --------------------------------------------------------------------------- password states

class SqlitePasswordStates:
    def __init__(self, db: _Db) -> None:
        self._db = db

    async def get(self, user_id: UserId) -> PasswordState | None:
        def q(c: sqlite3.Connection) -> PasswordState | None:
            row = c.execute("SELECT changed_at, must_change FROM password_states "
                            "WHERE user_id = ?", (int(user_id),)).fetchone()
            if row is None:
                return None
            return PasswordState(user_id, _opt_float(row[0]), bool(row[1]))
        return await self._db.read(q)

    async def put(self, state: PasswordState) -> None:
        params = (int(state.user_id), state.changed_at, int(state.must_change))
        await self._db.write(lambda c: c.execute(
            "INSERT OR REPLACE INTO password_states (user_id, changed_at, must_change) "
            "VALUES (?, ?, ?)", params))


# --------------------------------------------------------------------------- the facade

class SqliteSecurityStore:
    """Implements ``store.security.SecurityStore`` on the mail store's database."""

    def __init__(self, db: _Db) -> None:
        self._mfa_secrets = SqliteMfaSecrets(db)
        self._recovery_codes = SqliteRecoveryCodes(db)
        self._app_passwords = SqliteAppPasswords(db)
        self._tokens = SqliteTokens(db)
        self._guard_state = SqliteGuardState(db)
        self._password_states = SqlitePasswordStates(db)

    @property
    def mfa_secrets(self) -> SqliteMfaSecrets:
        return self._mfa_secrets

    @property
    def recovery_codes(self) -> SqliteRecoveryCodes:
        return self._recovery_codes

    @property
    def app_passwords(self) -> SqliteAppPasswords:
        return self._app_passwords

    @property
    def tokens(self) -> SqliteTokens:
        return self._tokens

    @property
    def guard_state(self) -> SqliteGuardState:
        return self._guard_state

    @property
    def password_states(self) -> SqlitePasswordStates:
        return self._password_states
