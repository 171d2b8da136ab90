"""Domain errors of authentication. One public meaning: the login failed."""

from __future__ import annotations

from enum import Enum

from mailfort.core.errors import MailfortError

__all__ = ["FailureReason", "AuthenticationFailed", "PasswordRejected"]


class FailureReason(Enum):
    """The real reason, for the audit log only; the wire always says the same thing."""

    UNKNOWN_USER = "unknown_user"
    BAD_PASSWORD = "bad_password"  # noqa: S105 - a reason code, not a password
    DISABLED = "disabled"


class AuthenticationFailed(MailfortError):
    def __init__(self, reason: FailureReason) -> None:
        super().__init__("authentication failed")
        self.reason = reason


class PasswordRejected(MailfortError):
    """A new password does not meet the policy; ``reasons`` are sentences for the user."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons
