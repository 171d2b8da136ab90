"""The login decision with account security: guard, primary password (Argon2id or an imported
legacy hash, upgraded on success), MFA (primary password refused once MFA is on; app passwords;
optionally "password + current TOTP code"), bearer tokens, and password expiry.

Meant to REPLACE ``auth.authenticator.Authenticator``: ``LoginService.authenticate(username,
password, *, peer) -> User`` has the same shape and raises ``LoginRefused``, a subclass of
``AuthenticationFailed``. Unknown user, wrong password, disabled account and "MFA required" share
one refusal (``Refusal.FAILED``), one text and one timing (a verify against a dummy hash for
unknown users, and the same fixed delay); the real reason goes to the audit events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import NoReturn, Protocol

from mailfort.audit.events import (
    ConnectionRefusalReason,
    EventSink,
    LoginFailureReason,
    MfaRequired,
    PasswordExpired,
    PasswordHashUpgraded,
)
from mailfort.auth.app_passwords import AppPasswordService, looks_like_app_password
from mailfort.auth.errors import AuthenticationFailed, FailureReason
from mailfort.auth.legacy import is_legacy, split_scheme, verify_legacy
from mailfort.auth.mfa import TOTP_DIGITS, MfaRequirement, MfaService
from mailfort.auth.passwords import MAX_PASSWORD_LENGTH, PasswordHashing
from mailfort.auth.policy import PasswordPolicySettings, expiry
from mailfort.auth.sasl.mechanism import BearerCredentials
from mailfort.auth.tokens import TokenInvalid, TokenService
from mailfort.core.clock import Clock
from mailfort.core.secret import Secret
from mailfort.store.api import Users
from mailfort.store.security import PasswordStates
from mailfort.store.types import User

__all__ = ["Refusal", "LoginRefused", "LoginSettings", "LoginService", "REFUSAL_TEXT",
           "LoginAdmission", "LoginGuard"]


class LoginAdmission(Protocol):
    """The guard's answer to "may this source try this account now?" (``guard``'s
    ``LoginDecision`` has this shape)."""

    @property
    def is_allowed(self) -> bool: ...
    @property
    def delay_s(self) -> float: ...
    @property
    def reason(self) -> ConnectionRefusalReason | None: ...
    @property
    def message(self) -> str: ...
    @property
    def retry_after(self) -> float | None: ...


class LoginGuard(Protocol):
    """What the login decision needs from ``guard`` (``guard.Guard`` implements it), so that
    ``auth`` does not depend on ``guard`` (STYLE.md §2: they are siblings)."""

    def check_login(self, user: str, peer: str) -> LoginAdmission: ...

    async def record_login(self, user: str, peer: str, *, is_success: bool,
                           failure: LoginFailureReason | None = None,
                           password: Secret[str] | None = None,
                           method: str = "password") -> None: ...


class Refusal(Enum):
    """What the edge says. service/imap/errors.py maps: FAILED -> NO [AUTHENTICATIONFAILED],
    EXPIRED -> NO [EXPIRED], UNAVAILABLE -> NO [UNAVAILABLE], LIMIT -> NO [LIMIT],
    NOT_ALLOWED -> NO [AUTHORIZATIONFAILED]."""

    FAILED = "failed"
    EXPIRED = "expired"
    UNAVAILABLE = "unavailable"  # locked out or banned: try later
    LIMIT = "limit"
    NOT_ALLOWED = "not_allowed"  # IP policy: not from this address
    # The policy requires MFA ([mfa] required_users/groups) and the account has none. Said
    # only after the password (or app password) verified: it tells nothing to a guesser.
    MFA_ENROLMENT_REQUIRED = "mfa_enrolment_required"


REFUSAL_TEXT: dict[Refusal, str] = {
    Refusal.FAILED: "Authentication failed",
    Refusal.EXPIRED: "Your password has expired; change it at the account page or ask your "
                     "administrator",
    Refusal.UNAVAILABLE: "Too many failed logins; try again later",
    Refusal.LIMIT: "Too many connections",
    Refusal.NOT_ALLOWED: "This account may not log in from your address",
    Refusal.MFA_ENROLMENT_REQUIRED: "This account must use two-factor authentication; ask "
                                    "your administrator to set it up, then use an app "
                                    "password",
}

_LEGACY_REASON = {LoginFailureReason.UNKNOWN_USER: FailureReason.UNKNOWN_USER,
                  LoginFailureReason.DISABLED: FailureReason.DISABLED}


class LoginRefused(AuthenticationFailed):
    def __init__(self, refusal: Refusal, reason: LoginFailureReason | None, *,
                 message: str = "", retry_after: float | None = None) -> None:
        super().__init__(_LEGACY_REASON.get(reason or LoginFailureReason.BAD_PASSWORD,
                                            FailureReason.BAD_PASSWORD))
        self.refusal = refusal
        self.detail = reason
        self.message = message or REFUSAL_TEXT[refusal]
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class LoginSettings:
    failure_delay_s: float = 2.0  # added to every failure, the same for unknown users
    allow_password_plus_totp: bool = False  # "password" + "123456" in one LOGIN
    policy: PasswordPolicySettings = field(default_factory=PasswordPolicySettings)


class LoginService:
    def __init__(self, users: Users, hashing: PasswordHashing, password_states: PasswordStates,
                 guard: LoginGuard, mfa: MfaService, app_passwords: AppPasswordService,
                 tokens: TokenService, clock: Clock, sink: EventSink,
                 settings: LoginSettings, *,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 mfa_requirement: MfaRequirement | None = None) -> None:
        self._users = users
        self._hashing = hashing
        self._states = password_states
        self._guard = guard
        self._mfa = mfa
        self._apps = app_passwords
        self._tokens = tokens
        self._clock = clock
        self._sink = sink
        self._s = settings
        self._sleep = sleep
        self._requirement = mfa_requirement

    async def authenticate(self, username: str, password: Secret[str], *, peer: str) -> User:
        """IMAP LOGIN, SASL PLAIN and LOGIN. Raises LoginRefused."""
        await self._admit(username, peer)
        user = await self._users.get(username) if username else None
        too_long = len(password.reveal()) > MAX_PASSWORD_LENGTH
        if user is None:
            await self._hashing.verify(self._hashing.dummy_hash, password)
            await self._fail(username, peer, LoginFailureReason.UNKNOWN_USER, password)
        assert user is not None
        if too_long:
            await self._hashing.verify(self._hashing.dummy_hash, password)
            await self._fail(username, peer, LoginFailureReason.BAD_PASSWORD, password)
        if looks_like_app_password(password.reveal()):
            app = await self._apps.verify(user, password, peer=peer)
            if app is not None and not user.is_disabled:
                await self._require_enrolment(user, peer, password)
                await self._succeed(user, peer, "app_password")
                return user
        is_primary_ok = await self._verify_primary(user, password)
        if user.is_disabled:
            await self._fail(username, peer, LoginFailureReason.DISABLED, password)
        if await self._mfa.is_enabled(user):
            if is_primary_ok:
                self._sink.emit(MfaRequired(self._clock.now(), user.name, peer))
                await self._fail(username, peer, LoginFailureReason.MFA_REQUIRED, password)
            if self._s.allow_password_plus_totp and await self._password_plus_totp(user,
                                                                                   password):
                await self._succeed(user, peer, "password+totp")
                return user
            await self._fail(username, peer, LoginFailureReason.BAD_PASSWORD, password)
        if not is_primary_ok:
            await self._fail(username, peer, LoginFailureReason.BAD_PASSWORD, password)
        await self._require_enrolment(user, peer, password)
        await self._succeed(user, peer, "password")
        await self._upgrade_hash(user, password)
        await self._check_expiry(user, peer)
        return user

    async def authenticate_bearer(self, credentials: BearerCredentials, *, peer: str,
                                  mechanism: str) -> User:
        """OAUTHBEARER and XOAUTH2 with a token Mailfort issued. Raises LoginRefused."""
        claimed = credentials.user
        await self._admit(claimed or "(token)", peer)
        try:
            claims = await self._tokens.verify(credentials.token, user=claimed or None)
        except TokenInvalid:
            await self._fail(claimed or "(token)", peer, LoginFailureReason.BAD_TOKEN, None)
        user = await self._users.get_by_id(claims.user_id)
        if user is None or user.is_disabled:
            await self._fail(claims.user, peer, LoginFailureReason.DISABLED, None)
        assert user is not None
        await self._require_enrolment(user, peer, None)
        await self._succeed(user, peer, mechanism.lower())
        return user

    # -- steps ---------------------------------------------------------------------------
    async def _admit(self, username: str, peer: str) -> None:
        decision = self._guard.check_login(username, peer)
        if not decision.is_allowed:
            R = ConnectionRefusalReason  # noqa: N806
            refusal = {R.NOT_IN_USER_ALLOWLIST: Refusal.NOT_ALLOWED,
                       R.DENIED_BY_POLICY: Refusal.NOT_ALLOWED,
                       R.LIMIT_PER_USER_AND_ADDRESS: Refusal.LIMIT}.get(
                decision.reason or R.LOCKED_OUT, Refusal.UNAVAILABLE)
            raise LoginRefused(refusal, None, message=decision.message,
                               retry_after=decision.retry_after)
        if decision.delay_s > 0:
            await self._sleep(decision.delay_s)

    async def _verify_primary(self, user: User, password: Secret[str]) -> bool:
        if is_legacy(user.password_hash):
            return await asyncio.to_thread(verify_legacy, user.password_hash, password)
        return await self._hashing.verify(user.password_hash, password)

    async def _password_plus_totp(self, user: User, password: Secret[str]) -> bool:
        text = password.reveal()
        head, code = text[:-TOTP_DIGITS], text[-TOTP_DIGITS:]
        if not head or not code.isdigit():
            return False
        if not await self._verify_primary(user, Secret(head)):
            return False
        return await self._mfa.verify(user, Secret(code))

    async def _require_enrolment(self, user: User, peer: str,
                                 password: Secret[str] | None) -> None:
        """Refuse (``MFA_ENROLMENT_REQUIRED``) an account that the policy requires to have MFA
        but has none. Call only once the credential verified. The guard records it as a
        failure (a client retrying the same password counts once)."""
        if self._requirement is None or not self._requirement.is_configured:
            return
        if not await self._requirement.is_required(user) or await self._mfa.is_enabled(user):
            return
        self._sink.emit(MfaRequired(self._clock.now(), user.name, peer))
        await self._guard.record_login(user.name, peer, is_success=False,
                                       failure=LoginFailureReason.MFA_REQUIRED,
                                       password=password)
        raise LoginRefused(Refusal.MFA_ENROLMENT_REQUIRED, LoginFailureReason.MFA_REQUIRED)

    async def _upgrade_hash(self, user: User, password: Secret[str]) -> None:
        if is_legacy(user.password_hash):
            scheme = split_scheme(user.password_hash)[0]
        elif self._hashing.needs_rehash(user.password_hash):
            scheme = "argon2id (old parameters)"
        else:
            return
        await self._users.set_password_hash(user.id, await self._hashing.hash(password))
        self._sink.emit(PasswordHashUpgraded(self._clock.now(), user.name, scheme))

    async def _check_expiry(self, user: User, peer: str) -> None:
        state = await self._states.get(user.id)
        result = expiry(state, self._s.policy, self._clock.now())
        if result.is_expired:
            self._sink.emit(PasswordExpired(self._clock.now(), user.name, peer, result.is_forced))
            raise LoginRefused(Refusal.EXPIRED, LoginFailureReason.EXPIRED_CREDENTIAL)

    async def _succeed(self, user: User, peer: str, method: str) -> None:
        await self._guard.record_login(user.name, peer, is_success=True, method=method)

    async def _fail(self, username: str, peer: str, reason: LoginFailureReason,
                    password: Secret[str] | None) -> NoReturn:
        await self._guard.record_login(username, peer, is_success=False, failure=reason,
                                       password=password)
        await self._sleep(self._s.failure_delay_s)
        raise LoginRefused(Refusal.FAILED, reason)
