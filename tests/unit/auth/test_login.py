"""MFA, app passwords, tokens and the login decision, over in-memory fakes."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import TypeVar

import pyotp
import pytest
from auth_fakes import (
    FakeClock,
    ListSink,
    MemoryAppPasswords,
    MemoryGuardState,
    MemoryMfaSecrets,
    MemoryPasswordStates,
    MemoryRecoveryCodes,
    MemorySecurity,
    MemoryTokens,
    MemoryUsers,
)

from mailfort.audit.events import LoginFailed, LoginFailureReason
from mailfort.auth.app_passwords import AppPasswordService
from mailfort.auth.legacy import sha_crypt
from mailfort.auth.login import LoginRefused, LoginService, LoginSettings, Refusal
from mailfort.auth.mfa import MfaError, MfaService
from mailfort.auth.passwords import PasswordHashing
from mailfort.auth.sasl.mechanism import BearerCredentials
from mailfort.auth.tokens import TokenInvalid, TokenKey, TokenProblem, TokenService
from mailfort.config.model import AuthSettings
from mailfort.core.secret import Secret
from mailfort.guard.guard import Guard, GuardSettings
from mailfort.store.security import PasswordState
from mailfort.store.types import User

T = TypeVar("T")
PEER = "198.51.100.7"
HASHING = PasswordHashing(AuthSettings(argon2_memory_kib=1024, argon2_time_cost=1,
                                       hash_workers=1))


def run(coro: Coroutine[object, object, T]) -> T:
    return asyncio.run(coro)


async def no_sleep(seconds: float) -> None:
    return None


@dataclass
class World:
    clock: FakeClock
    sink: ListSink
    db: MemorySecurity
    users: MemoryUsers
    mfa: MfaService
    apps: AppPasswordService
    tokens: TokenService
    login: LoginService

    def user(self, name: str, password: str) -> User:
        return run(self.users.create(name, HASHING.hash_sync(Secret(password))))

    def code(self, user: User) -> str:
        return pyotp.TOTP(self.db.mfa[user.id].totp_secret).at(self.clock.now())

    def auth(self, name: str, password: str) -> User:
        user: User = run(self.login.authenticate(name, Secret(password), peer=PEER))
        return user

    def refused(self, name: str, password: str) -> LoginRefused:
        with pytest.raises(LoginRefused) as info:
            self.auth(name, password)
        return info.value


def make(settings: LoginSettings | None = None) -> World:
    clock, sink, db, users = FakeClock(), ListSink(), MemorySecurity(), MemoryUsers()
    guard = Guard(GuardSettings(), MemoryGuardState(db), clock, sink)
    mfa = MfaService(MemoryMfaSecrets(db), MemoryRecoveryCodes(db), clock, sink)
    apps = AppPasswordService(MemoryAppPasswords(db), clock, sink)
    tokens = TokenService(TokenKey.generate(), MemoryTokens(db), clock, sink)
    login = LoginService(users, HASHING, MemoryPasswordStates(db), guard, mfa, apps, tokens,
                         clock, sink, settings or LoginSettings(failure_delay_s=0),
                         sleep=no_sleep)
    return World(clock, sink, db, users, mfa, apps, tokens, login)


def reasons(w: World) -> list[LoginFailureReason]:
    return [e.reason for e in w.sink.events if isinstance(e, LoginFailed)]


def test_password_login_and_same_refusal_for_unknown_user() -> None:
    w = make()
    w.user("alice@example.com", "correct horse battery")
    assert w.auth("Alice@example.com", "correct horse battery").name == "alice@example.com"
    a = w.refused("alice@example.com", "wrong")
    b = w.refused("ghost@example.com", "wrong")
    assert a.refusal is b.refusal is Refusal.FAILED and a.message == b.message
    assert reasons(w) == [LoginFailureReason.BAD_PASSWORD, LoginFailureReason.UNKNOWN_USER]


def test_mfa_enrol_then_primary_refused_app_password_accepted_revoked_refused() -> None:
    w = make()
    alice = w.user("alice", "correct horse battery")
    enrolment = run(w.mfa.begin(alice))
    assert enrolment.uri.reveal().startswith("otpauth://totp/")
    with pytest.raises(MfaError):
        run(w.mfa.confirm(alice, "000000" if w.code(alice) != "000000" else "111111"))
    codes = run(w.mfa.confirm(alice, w.code(alice)))
    assert len(codes) == 10 and len(set(codes)) == 10
    refused = w.refused("alice", "correct horse battery")
    assert refused.refusal is Refusal.FAILED
    assert reasons(w)[-1] is LoginFailureReason.MFA_REQUIRED
    record, secret = run(w.apps.create(alice, "Thunderbird"))
    assert w.auth("alice", secret.reveal().upper()).id == alice.id
    assert w.db.apps[record.id].last_used_peer == PEER
    assert run(w.apps.revoke(alice, record.id))
    w.refused("alice", secret.reveal())


def test_totp_code_is_single_use_and_recovery_codes_work_once() -> None:
    w = make()
    alice = w.user("alice", "correct horse battery")
    run(w.mfa.begin(alice))
    codes = run(w.mfa.confirm(alice, w.code(alice)))
    w.clock.t += 30
    code = w.code(alice)
    assert run(w.mfa.verify(alice, Secret(code)))
    assert not run(w.mfa.verify(alice, Secret(code)))  # replay
    assert run(w.mfa.verify(alice, Secret(codes[0].upper())))
    assert not run(w.mfa.verify(alice, Secret(codes[0])))
    assert run(w.mfa.status(alice)).recovery_codes_left == 9


def test_password_plus_totp_when_enabled() -> None:
    w = make(LoginSettings(failure_delay_s=0, allow_password_plus_totp=True))
    alice = w.user("alice", "correct horse battery")
    run(w.mfa.begin(alice))
    run(w.mfa.confirm(alice, w.code(alice)))
    w.clock.t += 60
    assert w.auth("alice", "correct horse battery" + w.code(alice)).id == alice.id
    w.refused("alice", "wrong password" + w.code(alice))


def test_app_password_expiry() -> None:
    w = make()
    bob = w.user("bob", "correct horse battery")
    _, secret = run(w.apps.create(bob, "phone", expires_in_s=60))
    assert w.auth("bob", secret.reveal()).id == bob.id
    w.clock.t += 61
    w.refused("bob", secret.reveal())


def test_bearer_tokens_issue_verify_revoke() -> None:
    w = make()
    bob = w.user("bob", "correct horse battery")
    record, token = run(w.tokens.issue(bob))
    creds = BearerCredentials("bob", token)
    assert run(w.login.authenticate_bearer(creds, peer=PEER, mechanism="OAUTHBEARER")) == bob
    tampered = Secret(token.reveal()[:-3] + ("AAA" if token.reveal()[-3:] != "AAA" else "BBB"))
    with pytest.raises(TokenInvalid) as info:
        run(w.tokens.verify(tampered))
    assert info.value.problem in (TokenProblem.BAD_SIGNATURE, TokenProblem.MALFORMED)
    with pytest.raises(TokenInvalid) as info:
        run(w.tokens.verify(token, user="alice"))
    assert info.value.problem is TokenProblem.WRONG_USER
    assert run(w.tokens.revoke(bob, record.id))
    with pytest.raises(LoginRefused):
        run(w.login.authenticate_bearer(creds, peer=PEER, mechanism="XOAUTH2"))
    _, fresh = run(w.tokens.issue(bob, ttl_s=10))
    w.clock.t += 11
    with pytest.raises(TokenInvalid) as info:
        run(w.tokens.verify(fresh))
    assert info.value.problem is TokenProblem.EXPIRED


def test_legacy_hash_upgraded_at_first_login() -> None:
    w = make()
    legacy = "{SHA512-CRYPT}" + sha_crypt(b"old but fine pw", "$6$rounds=1000$saltsalt")
    run(w.users.create("carol", legacy))
    w.refused("carol", "nope")
    assert w.auth("carol", "old but fine pw").name == "carol"
    stored = run(w.users.get("carol"))
    assert stored is not None and stored.password_hash.startswith("$argon2id$")
    assert w.auth("carol", "old but fine pw").name == "carol"


def test_expired_password_gets_expired_refusal_only_with_right_password() -> None:
    w = make()
    dave = w.user("dave", "correct horse battery")
    w.db.states[dave.id] = PasswordState(dave.id, None, True)
    assert w.refused("dave", "correct horse battery").refusal is Refusal.EXPIRED
    assert w.refused("dave", "wrong").refusal is Refusal.FAILED


def test_lockout_refuses_unknown_source_but_not_known_one() -> None:
    w = make()
    w.user("erin", "correct horse battery")
    run(w.login.authenticate("erin", Secret("correct horse battery"), peer="192.0.2.10"))
    for i in range(10):
        w.refused("erin", f"guess {i}")
    assert w.refused("erin", "correct horse battery").refusal is Refusal.UNAVAILABLE
    user = run(w.login.authenticate("erin", Secret("correct horse battery"),
                                    peer="192.0.2.99"))
    assert user.name == "erin"
