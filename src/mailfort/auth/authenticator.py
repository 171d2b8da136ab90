"""The only login decision. Every door (IMAP LOGIN, AUTHENTICATE, later LMTP and the console)
calls ``Authenticator.authenticate``.

Unknown user, wrong password and disabled account raise the same ``AuthenticationFailed`` after
the same work (an Argon2id verify against a dummy hash for unknown users) and the same delay,
so neither the words nor the timing tell an attacker which accounts exist. The real reason is
on the exception for the audit log.
"""

from __future__ import annotations

import asyncio
import logging
from typing import NoReturn

from mailfort.auth.errors import AuthenticationFailed, FailureReason
from mailfort.auth.passwords import MAX_PASSWORD_LENGTH, PasswordHashing
from mailfort.core.secret import Secret
from mailfort.store.api import Users
from mailfort.store.types import User

__all__ = ["Authenticator"]

log = logging.getLogger(__name__)


class Authenticator:
    def __init__(self, users: Users, hashing: PasswordHashing, *, failure_delay_s: float) -> None:
        self._users = users
        self._hashing = hashing
        self._failure_delay_s = failure_delay_s

    async def authenticate(self, username: str, password: Secret[str], *, peer: str) -> User:
        user = await self._users.get(username) if username else None
        secret = password
        if len(password.reveal()) > MAX_PASSWORD_LENGTH:
            secret = Secret(password.reveal()[:MAX_PASSWORD_LENGTH])  # still costs a verify
            user_ok = False
        else:
            user_ok = True
        stored = user.password_hash if user is not None else self._hashing.dummy_hash
        is_valid = await self._hashing.verify(stored, secret) and user_ok
        if user is None:
            await self._fail(FailureReason.UNKNOWN_USER)
        assert user is not None
        if not is_valid:
            await self._fail(FailureReason.BAD_PASSWORD)
        if user.is_disabled:
            await self._fail(FailureReason.DISABLED)
        if self._hashing.needs_rehash(user.password_hash):
            new_hash = await self._hashing.hash(password)
            await self._users.set_password_hash(user.id, new_hash)
            log.info("password hash upgraded to current parameters")
        return user

    async def _fail(self, reason: FailureReason) -> NoReturn:
        await asyncio.sleep(self._failure_delay_s)
        raise AuthenticationFailed(reason)
