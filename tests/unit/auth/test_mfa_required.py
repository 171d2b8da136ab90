""""A policy can require MFA per user or group": [mfa] required_users / required_groups."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from types import MappingProxyType
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

from mailfort.audit.events import LoginFailed, LoginFailureReason, MfaRequired
from mailfort.auth.app_passwords import AppPasswordService
from mailfort.auth.login import REFUSAL_TEXT, LoginRefused, LoginService, LoginSettings, Refusal
from mailfort.auth.mfa import MfaRequirement, MfaRequirementSettings, MfaService
from mailfort.auth.passwords import PasswordHashing
from mailfort.auth.tokens import TokenKey, TokenService
from mailfort.config.model import AuthSettings
from mailfort.core.secret import Secret
from mailfort.guard.guard import Guard, GuardSettings
from mailfort.store.types import User, UserId

T = TypeVar("T")
PEER = "198.51.100.7"
PASSWORD = "correct horse battery"  # noqa: S105 - a test account
HASHING = PasswordHashing(AuthSettings(argon2_memory_kib=1024, argon2_time_cost=1,
                                       hash_workers=1))


def run(coro: Coroutine[object, object, T]) -> T:
    return asyncio.run(coro)


async def no_sleep(seconds: float) -> None:
    return None


class StoreGroups:
    """``store.acl.Groups.groups_of`` over a dict."""

    def __init__(self, groups: dict[int, frozenset[str]]) -> None:
        self.groups = groups
        self.asked = 0

    async def groups_of(self, user_id: UserId) -> frozenset[str]:
        self.asked += 1
        return self.groups.get(int(user_id), frozenset())


class World:
    def __init__(self, requirement: MfaRequirement) -> None:
        self.clock, self.sink, self.db = FakeClock(), ListSink(), MemorySecurity()
        self.users = MemoryUsers()
        guard = Guard(GuardSettings(), MemoryGuardState(self.db), self.clock, self.sink)
        self.mfa = MfaService(MemoryMfaSecrets(self.db), MemoryRecoveryCodes(self.db),
                              self.clock, self.sink)
        self.apps = AppPasswordService(MemoryAppPasswords(self.db), self.clock, self.sink)
        tokens = TokenService(TokenKey.generate(), MemoryTokens(self.db), self.clock, self.sink)
        self.login = LoginService(self.users, HASHING, MemoryPasswordStates(self.db), guard,
                                  self.mfa, self.apps, tokens, self.clock, self.sink,
                                  LoginSettings(failure_delay_s=0), sleep=no_sleep,
                                  mfa_requirement=requirement)

    def user(self, name: str) -> User:
        return run(self.users.create(name, HASHING.hash_sync(Secret(PASSWORD))))

    def refused(self, name: str, password: str) -> LoginRefused:
        with pytest.raises(LoginRefused) as info:
            run(self.login.authenticate(name, Secret(password), peer=PEER))
        return info.value

    def enrol(self, user: User) -> None:
        run(self.mfa.begin(user))
        seed = self.db.mfa[user.id].totp_secret
        run(self.mfa.confirm(user, pyotp.TOTP(seed).at(self.clock.now())))


def test_required_user_without_mfa_is_told_to_enrol_only_after_the_password() -> None:
    w = World(MfaRequirement(MfaRequirementSettings(users=("Boss@example.com",))))
    boss = w.user("boss@example.com")
    # A guesser gets the usual answer: nothing tells that MFA is required.
    wrong = w.refused("boss@example.com", "not the password")
    assert wrong.refusal is Refusal.FAILED
    assert not any(isinstance(e, MfaRequired) for e in w.sink.events)
    # The right password: refused with the fixed words telling the user to enrol.
    right = w.refused("boss@example.com", PASSWORD)
    assert right.refusal is Refusal.MFA_ENROLMENT_REQUIRED
    assert right.message == REFUSAL_TEXT[Refusal.MFA_ENROLMENT_REQUIRED]
    assert "two-factor" in right.message
    assert any(isinstance(e, MfaRequired) and e.user == "boss@example.com"
               for e in w.sink.events)
    failed = [e for e in w.sink.events if isinstance(e, LoginFailed)]
    assert failed[-1].reason is LoginFailureReason.MFA_REQUIRED
    # An app password made before the policy does not get around it either.
    _, secret = run(w.apps.create(boss, "old phone"))
    assert w.refused("boss@example.com", secret.reveal()).refusal \
        is Refusal.MFA_ENROLMENT_REQUIRED
    # Once enrolled: the password is refused like any MFA account, the app password works.
    w.enrol(boss)
    assert w.refused("boss@example.com", PASSWORD).refusal is Refusal.FAILED
    assert run(w.login.authenticate("boss@example.com", secret, peer=PEER)).id == boss.id


def test_other_users_are_not_affected() -> None:
    w = World(MfaRequirement(MfaRequirementSettings(users=("boss@example.com",))))
    w.user("clerk@example.com")
    user = run(w.login.authenticate("clerk@example.com", Secret(PASSWORD), peer=PEER))
    assert user.name == "clerk@example.com"


def test_required_by_store_group_and_by_config_group() -> None:
    groups = StoreGroups({})
    req = MfaRequirement(MfaRequirementSettings(
        groups=("$Finance", "ops"), config_groups=MappingProxyType({"ops": ("olga@x.test",)})),
        groups)
    w = World(req)
    fred, olga, carl = w.user("fred@x.test"), w.user("olga@x.test"), w.user("carl@x.test")
    groups.groups[int(fred.id)] = frozenset({"finance"})
    assert run(req.reason(fred)) == "member of the group finance, listed in [mfa] " \
                                    "required_groups"
    assert run(req.reason(olga)) is not None and run(req.reason(carl)) is None
    assert w.refused("fred@x.test", PASSWORD).refusal is Refusal.MFA_ENROLMENT_REQUIRED
    assert w.refused("olga@x.test", PASSWORD).refusal is Refusal.MFA_ENROLMENT_REQUIRED
    assert run(w.login.authenticate("carl@x.test", Secret(PASSWORD), peer=PEER)).id == carl.id
    # Leaving the group lifts the requirement at the next login.
    groups.groups[int(fred.id)] = frozenset()
    assert run(w.login.authenticate("fred@x.test", Secret(PASSWORD), peer=PEER)).id == fred.id


def test_no_policy_asks_nothing() -> None:
    groups = StoreGroups({})
    req = MfaRequirement(MfaRequirementSettings(), groups)
    w = World(req)
    w.user("a@x.test")
    assert not req.is_configured
    run(w.login.authenticate("a@x.test", Secret(PASSWORD), peer=PEER))
    assert groups.asked == 0
