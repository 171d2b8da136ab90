"""The backends of the security conformance suite: the in-memory fakes the auth and guard unit
tests use (tests/unit/auth/auth_fakes.py) behind the ``SecurityStore`` facade, and the value the
`backend` fixture yields."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from mailfort.store.api import Users
from mailfort.store.security import SecurityStore

_FAKES = str(Path(__file__).resolve().parents[2] / "unit" / "auth")
if _FAKES not in sys.path:
    sys.path.insert(0, _FAKES)

from auth_fakes import (  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
    MemoryAppPasswords,
    MemoryGuardState,
    MemoryMfaSecrets,
    MemoryPasswordStates,
    MemoryRecoveryCodes,
    MemorySecurity,
    MemoryTokens,
    MemoryUsers,
)

__all__ = ["Backend", "MemorySecurityStore", "MemoryUsers"]


class MemorySecurityStore:
    """The fakes behind the ``SecurityStore`` facade."""

    def __init__(self) -> None:
        db = MemorySecurity()
        self.mfa_secrets = MemoryMfaSecrets(db)
        self.recovery_codes = MemoryRecoveryCodes(db)
        self.app_passwords = MemoryAppPasswords(db)
        self.tokens = MemoryTokens(db)
        self.guard_state = MemoryGuardState(db)
        self.password_states = MemoryPasswordStates(db)


@dataclass(frozen=True, slots=True)
class Backend:
    name: str
    security: SecurityStore
    users: Users
