"""Argon2id password hashing, off the event loop.

Hashing runs in a bounded thread pool (argon2-cffi releases the GIL), so a flood of logins
never blocks other sessions and uses both cores. Parameters default to OWASP's (m = 19 MiB,
t = 2, p = 1); a stored hash made with other parameters is rehashed at the next good login.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from mailfort.config.model import AuthSettings
from mailfort.core.secret import Secret

__all__ = ["PasswordHashing", "MIN_PASSWORD_LENGTH", "MAX_PASSWORD_LENGTH", "check_new_password"]

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # far above the 64 that must be allowed; bounds hashing work


def check_new_password(username: str, password: str) -> list[str]:
    """Reasons a new password is refused (empty when acceptable). The full policy (breached
    list, strength estimate) belongs to the account-security work; this is its seam."""
    reasons: list[str] = []
    if len(password) < MIN_PASSWORD_LENGTH:
        reasons.append(f"it is shorter than {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        reasons.append(f"it is longer than {MAX_PASSWORD_LENGTH} characters")
    local = username.split("@", 1)[0].casefold()
    if len(local) >= 3 and local in password.casefold():
        reasons.append("it contains the user name")
    return reasons


class PasswordHashing:
    """Hash and verify with Argon2id in a bounded pool of threads."""

    def __init__(self, settings: AuthSettings) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
        )
        self._pool = ThreadPoolExecutor(max_workers=settings.hash_workers,
                                        thread_name_prefix="argon2")
        # Verified against when the user does not exist, so both paths cost the same.
        self._dummy_hash = self._hasher.hash("mailfort-dummy-password-for-timing")

    @property
    def dummy_hash(self) -> str:
        return self._dummy_hash

    def hash_sync(self, password: Secret[str]) -> str:
        return self._hasher.hash(password.reveal())

    def verify_sync(self, stored_hash: str, password: Secret[str]) -> bool:
        try:
            return self._hasher.verify(stored_hash, password.reveal())
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True

    async def hash(self, password: Secret[str]) -> str:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.hash_sync, password)

    async def verify(self, stored_hash: str, password: Secret[str]) -> bool:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.verify_sync, stored_hash, password)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
