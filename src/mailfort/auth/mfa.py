"""TOTP second factor (RFC 6238) with single-use recovery codes.

Enrolment: ``begin`` makes a fresh seed (stored unconfirmed) and returns the otpauth URI and a
terminal QR code; ``confirm`` checks a first code, turns MFA on and returns ten recovery codes
(shown once, stored as SHA-256: each carries 80 random bits, so a fast hash is enough). A code
is accepted for the current 30-second step and one step either side, and never twice (the last
accepted step is stored).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

import pyotp
import segno

from mailfort.audit.events import EventSink, MfaDisabled, MfaEnrolled, RecoveryCodeUsed
from mailfort.core.clock import Clock
from mailfort.core.errors import MailfortError
from mailfort.core.secret import Secret
from mailfort.store.security import MfaSecret, MfaSecrets, RecoveryCodes
from mailfort.store.types import User, UserId

__all__ = ["MfaError", "Enrolment", "MfaStatus", "MfaService", "new_totp_secret",
           "provisioning_uri", "terminal_qr", "matching_step", "new_recovery_codes",
           "hash_recovery_code", "RECOVERY_CODE_COUNT", "TOTP_PERIOD_S",
           "GroupMembership", "MfaRequirementSettings", "MfaRequirement"]

RECOVERY_CODE_COUNT = 10
TOTP_PERIOD_S = 30
TOTP_DIGITS = 6
_VALID_WINDOW = 1
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


class MfaError(MailfortError):
    """An MFA operation is not possible (no enrolment, wrong code); ``str`` is for the user."""


def new_totp_secret() -> str:
    return pyotp.random_base32(32)  # 160 bits, as RFC 4226 recommends


def provisioning_uri(secret: str, account: str, issuer: str = "Mailfort") -> str:
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_PERIOD_S).provisioning_uri(
        name=account, issuer_name=issuer)


def terminal_qr(uri: str) -> str:
    """The QR code as text for a terminal (segno's compact half-block rendering)."""
    out = io.StringIO()
    segno.make(uri, error="m").terminal(out=out, compact=True)
    return out.getvalue()


def matching_step(secret: str, code: str, now: float) -> int | None:
    """The time step whose code equals ``code`` (within one step either side), else None.
    Compares in constant time."""
    code = code.strip().replace(" ", "")
    if len(code) != TOTP_DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_PERIOD_S)
    step = int(now // TOTP_PERIOD_S)
    found: int | None = None
    for s in range(step - _VALID_WINDOW, step + _VALID_WINDOW + 1):
        if hmac.compare_digest(totp.at(s * TOTP_PERIOD_S), code):
            found = s if found is None else found
    return found


def _normalize_code(code: str) -> str:
    return "".join(ch for ch in code.casefold() if ch.isalnum())


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """``xxxx-xxxx-xxxx-xxxx``: 16 symbols of 31, about 79 bits each."""
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(16))
        codes.append("-".join(raw[i:i + 4] for i in range(0, 16, 4)))
    return codes


def hash_recovery_code(code: str) -> str:
    return hashlib.sha256(_normalize_code(code).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Enrolment:
    secret: Secret[str]
    uri: Secret[str]
    qr: Secret[str]


@dataclass(frozen=True, slots=True)
class MfaStatus:
    is_enabled: bool
    is_pending: bool  # enrolled but not yet confirmed
    recovery_codes_left: int


class MfaService:
    def __init__(self, secrets_store: MfaSecrets, recovery: RecoveryCodes, clock: Clock,
                 sink: EventSink, *, issuer: str = "Mailfort") -> None:
        self._secrets = secrets_store
        self._recovery = recovery
        self._clock = clock
        self._sink = sink
        self._issuer = issuer

    async def begin(self, user: User) -> Enrolment:
        current = await self._secrets.get(user.id)
        if current is not None and current.is_confirmed:
            raise MfaError("MFA is already on for this account; disable it first")
        seed = new_totp_secret()
        await self._secrets.put(MfaSecret(user.id, seed, False, self._clock.now(), -1))
        uri = provisioning_uri(seed, user.name, self._issuer)
        return Enrolment(Secret(seed), Secret(uri), Secret(terminal_qr(uri)))

    async def confirm(self, user: User, code: str) -> list[str]:
        """Check the first code; on success MFA is on and the recovery codes are returned
        (to be shown once)."""
        current = await self._secrets.get(user.id)
        if current is None:
            raise MfaError("no MFA enrolment is in progress for this account")
        if current.is_confirmed:
            raise MfaError("MFA is already on for this account")
        step = matching_step(current.totp_secret, code, self._clock.now())
        if step is None:
            raise MfaError("that code is not right; check the device's clock and try again")
        await self._secrets.put(MfaSecret(user.id, current.totp_secret, True,
                                          current.created_at, step))
        codes = new_recovery_codes()
        await self._recovery.replace(user.id, [hash_recovery_code(c) for c in codes])
        self._sink.emit(MfaEnrolled(self._clock.now(), user.name))
        return codes

    async def is_enabled(self, user: User) -> bool:
        current = await self._secrets.get(user.id)
        return current is not None and current.is_confirmed

    async def verify(self, user: User, code: Secret[str]) -> bool:
        """A current TOTP code (each accepted once) or an unused recovery code."""
        current = await self._secrets.get(user.id)
        if current is None or not current.is_confirmed:
            return False
        text = code.reveal()
        step = matching_step(current.totp_secret, text, self._clock.now())
        if step is not None:
            return await self._secrets.set_last_used_step(user.id, step)
        if len(_normalize_code(text)) == 16:
            if await self._recovery.consume(user.id, hash_recovery_code(text)):
                left = await self._recovery.count(user.id)
                self._sink.emit(RecoveryCodeUsed(self._clock.now(), user.name, left))
                return True
        return False

    async def disable(self, user: User) -> bool:
        current = await self._secrets.get(user.id)
        await self._secrets.delete(user.id)
        await self._recovery.replace(user.id, [])
        if current is not None:
            self._sink.emit(MfaDisabled(self._clock.now(), user.name))
        return current is not None

    async def status(self, user: User) -> MfaStatus:
        current = await self._secrets.get(user.id)
        left = await self._recovery.count(user.id)
        return MfaStatus(current is not None and current.is_confirmed,
                         current is not None and not current.is_confirmed, left)


# -- "a policy can require MFA per user or group" ---------------------------------------------

class GroupMembership(Protocol):
    """The groups a user belongs to (``store.acl.Groups`` has this shape)."""

    async def groups_of(self, user_id: UserId) -> frozenset[str]: ...


def _no_groups() -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class MfaRequirementSettings:
    """``[mfa] required_users`` and ``required_groups``. A group is a store group
    (``mailfort group``) or one defined in ``[guard.groups]`` (``config_groups``: group name
    -> member login names). Names compare case-insensitively."""

    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    config_groups: Mapping[str, tuple[str, ...]] = field(default_factory=_no_groups)


class MfaRequirement:
    """Whether an account must have MFA, and why (in words for ``mfa status``)."""

    def __init__(self, settings: MfaRequirementSettings,
                 membership: GroupMembership | None = None) -> None:
        self._users = frozenset(u.casefold() for u in settings.users)
        self._groups = frozenset(g.casefold().removeprefix("$") for g in settings.groups)
        self._config_members: dict[str, frozenset[str]] = {
            name.casefold(): frozenset(m.casefold() for m in members)
            for name, members in settings.config_groups.items()}
        self._membership = membership

    @property
    def is_configured(self) -> bool:
        return bool(self._users or self._groups)

    async def reason(self, user: User) -> str | None:
        """None when MFA is optional for ``user``; else why it is required."""
        if not self.is_configured:
            return None
        name = user.name.casefold()
        if name in self._users:
            return "listed in [mfa] required_users"
        for group in sorted(self._groups):
            if name in self._config_members.get(group, frozenset()):
                return f"member of the group {group}, listed in [mfa] required_groups"
        if self._groups and self._membership is not None:
            mine = {g.casefold() for g in await self._membership.groups_of(user.id)}
            for group in sorted(self._groups & mine):
                return f"member of the group {group}, listed in [mfa] required_groups"
        return None

    async def is_required(self, user: User) -> bool:
        return await self.reason(user) is not None
