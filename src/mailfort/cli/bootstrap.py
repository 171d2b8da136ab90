"""The composition root: the only place that builds concrete objects (STYLE.md §2)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from mailfort.audit.events import EventSink
from mailfort.auth.app_passwords import AppPasswordService
from mailfort.auth.authenticator import Authenticator
from mailfort.auth.login import LoginService, LoginSettings
from mailfort.auth.mfa import MfaService
from mailfort.auth.passwords import PasswordHashing
from mailfort.auth.policy import PasswordPolicy, PasswordPolicySettings
from mailfort.auth.tokens import TokenKey, TokenService
from mailfort.config.model import Settings
from mailfort.core.clock import Clock
from mailfort.core.errors import ConfigError
from mailfort.guard.bans import BanSettings
from mailfort.guard.guard import Guard, GuardSettings
from mailfort.guard.ippolicy import IpPolicySettings
from mailfort.guard.lockout import LockoutSettings
from mailfort.guard.ratelimit import ConnectionLimitSettings, DelaySchedule
from mailfort.store.api import MailStore
from mailfort.store.security import SecurityStore

__all__ = ["Runtime", "runtime", "Security", "build_security", "policy_settings",
           "guard_settings", "security_state", "load_token_key", "TOKEN_KEY_FILENAME"]


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    store: MailStore
    hashing: PasswordHashing
    authenticator: Authenticator


async def open_store(settings: Settings) -> MailStore:
    from mailfort.store.sqlite import open_sqlite_store

    return await open_sqlite_store(settings.data_dir)


@asynccontextmanager
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """Open the store and the login machinery; close them on exit."""
    store = await open_store(settings)
    hashing = PasswordHashing(settings.auth)
    try:
        authenticator = Authenticator(store.users, hashing,
                                      failure_delay_s=settings.auth.failure_delay_ms / 1000)
        yield Runtime(settings, store, hashing, authenticator)
    finally:
        hashing.close()
        await store.close()


# --- Account security (issue #3) -------------------------------------------------------------
# Maps the [policy], [guard], [mfa] and [tokens] settings onto the pure layers' own settings and
# builds the services on the store's security state. Kept apart from ``runtime`` so the server
# and the CLI choose when to build it:
#
#     async with runtime(settings) as rt:
#         sec = await build_security(settings, rt.store, SystemClock(), sink, hashing=rt.hashing)

TOKEN_KEY_FILENAME = "token-signing.key"  # noqa: S105 - a file name, not a secret


@dataclass(frozen=True, slots=True)
class Security:
    guard: Guard
    login_service: LoginService
    mfa: MfaService
    app_passwords: AppPasswordService
    tokens: TokenService
    policy: PasswordPolicy
    state: SecurityStore


def policy_settings(settings: Settings) -> PasswordPolicySettings:
    p = settings.policy
    return PasswordPolicySettings(
        min_length=p.min_length, min_length_without_mfa=p.min_length_without_mfa,
        max_length=p.max_length, min_strength=p.min_strength,
        required_classes=p.required_classes,
        hibp_file=str(settings.path(p.hibp_file)) if p.hibp_file else "",
        max_age_days=p.max_age_days)


def guard_settings(settings: Settings) -> GuardSettings:
    g = settings.guard
    return GuardSettings(
        lockout=LockoutSettings(threshold=g.lockout_threshold, window_s=g.lockout_window_s,
                                lockout_s=g.lockout_s, max_lockout_s=g.max_lockout_s,
                                attack_sources=g.attack_sources,
                                attack_threshold=g.attack_threshold),
        bans=BanSettings(address_failures=g.ban_address_failures,
                         network_failures=g.ban_network_failures, window_s=g.ban_window_s,
                         stuffing_accounts=g.stuffing_accounts,
                         network_stuffing_accounts=g.network_stuffing_accounts,
                         stuffing_window_s=g.stuffing_window_s, ban_s=g.ban_s,
                         growth=g.ban_growth, max_ban_s=g.max_ban_s),
        limits=ConnectionLimitSettings(
            total_per_address=g.max_connections_per_address,
            pre_auth_per_address=g.max_pre_auth_per_address,
            per_user_and_address=g.max_connections_per_user_and_address,
            pre_auth_timeout_s=settings.server.pre_auth_timeout_s),
        ip=IpPolicySettings(allow=g.allow, deny=g.deny, trusted=g.trusted,
                            user_allow=g.user_allow, group_allow=g.group_allow,
                            groups=g.groups),
        delays=DelaySchedule(g.delays_s))


def security_state(store: MailStore) -> SecurityStore:
    """The account-security state kept by ``store`` (the same database)."""
    from mailfort.store.sqlite import SqliteMailStore

    if isinstance(store, SqliteMailStore):
        return store.security
    raise ConfigError("storage.backend", "this backend keeps no account-security state")


def load_token_key(path: Path) -> TokenKey:
    """The token signing key at ``path``, created (mode 0600) on first use."""
    try:
        return TokenKey.from_bytes(path.read_bytes())
    except FileNotFoundError:
        pass
    except ValueError:
        raise ConfigError("tokens.key_file", f"{path} is not an Ed25519 key") from None
    key = TokenKey.generate()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(key.to_bytes())
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)  # atomic, and never replaces a key another process made
        except FileExistsError:
            return TokenKey.from_bytes(path.read_bytes())
    finally:
        tmp.unlink(missing_ok=True)
    return key


async def build_security(settings: Settings, store: MailStore, clock: Clock, sink: EventSink,
                         *, hashing: PasswordHashing) -> Security:
    """Build the guard (its bans and known networks restored from the store), the login
    service and the MFA, app-password and token services on ``store``'s security state."""
    state = security_state(store)
    pol = policy_settings(settings)
    guard = Guard(guard_settings(settings), state.guard_state, clock, sink)
    await guard.load()
    mfa = MfaService(state.mfa_secrets, state.recovery_codes, clock, sink,
                     issuer=settings.mfa.issuer)
    apps = AppPasswordService(state.app_passwords, clock, sink)
    key_path = (settings.path(settings.tokens.key_file) if settings.tokens.key_file
                else settings.data_dir / TOKEN_KEY_FILENAME)
    key = await asyncio.to_thread(load_token_key, key_path)
    tokens = TokenService(key, state.tokens, clock, sink, ttl_s=settings.tokens.ttl_s,
                          max_ttl_s=settings.tokens.max_ttl_s)
    login = LoginService(store.users, hashing, state.password_states, guard, mfa, apps, tokens,
                         clock, sink, LoginSettings(
                             failure_delay_s=settings.auth.failure_delay_ms / 1000,
                             allow_password_plus_totp=settings.mfa.allow_password_plus_totp,
                             policy=pol))
    return Security(guard, login, mfa, apps, tokens, PasswordPolicy.default(pol), state)
