"""What every SASL mechanism shares: the step results and the failure.

A mechanism is a small sans-I/O state machine: ``start(initial_response)`` and then ``step(data)``
for each client response, each returning a ``Challenge`` to send or the final credentials. The
IMAP layer does the base64 (RFC 9051 §6.2.2) and the ``*`` cancel; mechanisms see raw bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from mailfort.core.errors import MailfortError
from mailfort.core.secret import Secret

__all__ = ["Challenge", "PasswordCredentials", "BearerCredentials", "Credentials", "SaslFailed",
           "SaslAuthorizationRefused", "Mechanism", "MAX_RESPONSE_BYTES"]

MAX_RESPONSE_BYTES = 8192


@dataclass(frozen=True, slots=True)
class Challenge:
    data: bytes


@dataclass(frozen=True, slots=True)
class PasswordCredentials:
    authcid: str  # who logs in
    authzid: str  # who to act as ("" or equal to authcid; anything else is refused)
    password: Secret[str]


@dataclass(frozen=True, slots=True)
class BearerCredentials:
    user: str  # "" when the client did not say
    token: Secret[str]


Credentials = PasswordCredentials | BearerCredentials


class SaslFailed(MailfortError):
    """The exchange is malformed or was refused; the login fails (no detail on the wire)."""


class SaslAuthorizationRefused(SaslFailed):
    """The client asked to act as another user (an authzid other than its own)."""


class Mechanism(Protocol):
    name: str

    def start(self, initial: bytes | None) -> Challenge | Credentials: ...
    def step(self, data: bytes) -> Challenge | Credentials: ...
