"""App passwords: what mail clients use once MFA is on.

Created after a second-factor check (the caller's job: the CLI asks for a TOTP code first),
named per device, random (20 symbols of 32: 100 bits), shown once, stored as SHA-256 (a fast
hash is right for a random secret of this size, and keeps a flood of logins cheap), scoped to
IMAP, revocable, optionally expiring, with the last use (time and address) recorded.

A decoy (``create_decoy``, scope ``decoy``; ``mailfort honeytoken add app-password``) looks
like any other app password but never signs anyone in: a login with it fails exactly as a wrong
password does, and its use is emitted (``AppPasswordUsed``) for the honeytoken detector.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import replace

from mailfort.audit.events import AppPasswordCreated, AppPasswordRevoked, AppPasswordUsed, EventSink
from mailfort.core.clock import Clock
from mailfort.core.errors import MailfortError
from mailfort.core.secret import Secret
from mailfort.store.security import AppPassword, AppPasswords
from mailfort.store.types import User

__all__ = ["AppPasswordError", "AppPasswordService", "new_app_password", "hash_app_password",
           "looks_like_app_password", "SCOPE_IMAP", "SCOPE_DECOY"]

SCOPE_IMAP = "imap"
SCOPE_DECOY = "decoy"  # a honeytoken: matching it refuses the login and raises an alert
_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # 32 symbols, no l/1/0/o
_GROUPS = 5
_GROUP_LEN = 4
_MAX_NAME = 100


class AppPasswordError(MailfortError):
    """``str`` is words for the user."""


def _normalize(candidate: str) -> str:
    return "".join(ch for ch in candidate.casefold() if ch not in " -")


def new_app_password() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(_GROUPS * _GROUP_LEN))
    return "-".join(raw[i:i + _GROUP_LEN] for i in range(0, len(raw), _GROUP_LEN))


def hash_app_password(candidate: str) -> str:
    return hashlib.sha256(b"mailfort-app-password\0" + _normalize(candidate).encode()
                          ).hexdigest()


def looks_like_app_password(candidate: str) -> bool:
    norm = _normalize(candidate)
    return len(norm) == _GROUPS * _GROUP_LEN and all(ch in _ALPHABET for ch in norm)


class AppPasswordService:
    def __init__(self, store: AppPasswords, clock: Clock, sink: EventSink) -> None:
        self._store = store
        self._clock = clock
        self._sink = sink

    async def create(self, user: User, name: str, *, expires_in_s: float | None = None,
                     ) -> tuple[AppPassword, Secret[str]]:
        """Call only after a second-factor check. The secret is returned once."""
        name = name.strip()
        if not name or len(name) > _MAX_NAME or any(ord(c) < 0x20 for c in name):
            raise AppPasswordError(f"give the device a name of 1 to {_MAX_NAME} characters")
        existing = await self._store.list(user.id)
        now = self._clock.now()
        if any(a.name == name and a.is_usable(now) for a in existing):
            raise AppPasswordError(f"an app password named {name!r} already exists; revoke "
                                   "it first or choose another name")
        if expires_in_s is not None and expires_in_s <= 0:
            raise AppPasswordError("the expiry must be in the future")
        secret = new_app_password()
        record = AppPassword(secrets.token_hex(8), user.id, name, hash_app_password(secret),
                             SCOPE_IMAP, now, None if expires_in_s is None else now + expires_in_s,
                             None, None, None)
        await self._store.add(record)
        self._sink.emit(AppPasswordCreated(now, user.name, name, record.expires_at))
        return record, Secret(secret)

    async def create_decoy(self, user: User, name: str) -> tuple[AppPassword, Secret[str]]:
        """A decoy app password (a honeytoken); no event, so no notice to the user."""
        secret = new_app_password()
        record = AppPassword(secrets.token_hex(8), user.id, name, hash_app_password(secret),
                             SCOPE_DECOY, self._clock.now(), None, None, None, None)
        await self._store.add(record)
        return record, Secret(secret)

    async def list(self, user: User) -> list[AppPassword]:
        return await self._store.list(user.id)

    async def revoke(self, user: User, app_password_id: str) -> bool:
        now = self._clock.now()
        records = {a.id: a for a in await self._store.list(user.id)}
        if not await self._store.revoke(user.id, app_password_id, now):
            return False
        record = records.get(app_password_id)
        self._sink.emit(AppPasswordRevoked(now, user.name, record.name if record else "?"))
        return True

    async def verify(self, user: User, candidate: Secret[str], *, peer: str,
                     scope: str = SCOPE_IMAP) -> AppPassword | None:
        """The usable app password of ``user`` matching ``candidate``, with its use recorded;
        None otherwise. Revoked and expired ones never match."""
        if not looks_like_app_password(candidate.reveal()):
            return None
        digest = hash_app_password(candidate.reveal())
        now = self._clock.now()
        match: AppPassword | None = None
        decoy: AppPassword | None = None
        for record in await self._store.list(user.id):
            if hmac.compare_digest(record.secret_hash, digest):
                if record.scope == scope:
                    match = record
                elif record.scope == SCOPE_DECOY:
                    decoy = record
        if decoy is not None and match is None:
            self._sink.emit(AppPasswordUsed(now, user.name, decoy.name, peer))
            return None  # the caller goes on as for a wrong password: same reply and cost
        if match is None or not match.is_usable(now):
            return None
        await self._store.mark_used(match.id, now, peer)
        self._sink.emit(AppPasswordUsed(now, user.name, match.name, peer))
        return replace(match, last_used_at=now, last_used_peer=peer)
