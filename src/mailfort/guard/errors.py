"""Domain errors of the guard. They know nothing of IMAP: the edge maps them to replies."""

from __future__ import annotations

from mailfort.audit.events import ConnectionRefusalReason
from mailfort.core.errors import MailfortError

__all__ = ["GuardError", "AccessRefused", "InvalidSource"]


class GuardError(MailfortError):
    pass


class AccessRefused(GuardError):
    """The guard refused a connection or a login. ``message`` is words fit for the wire
    (they name the limit, never a credential); ``reason`` is for the audit trail."""

    def __init__(self, reason: ConnectionRefusalReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class InvalidSource(GuardError):
    """Not an IP address or CIDR network (an admin typo, or a malformed peer)."""
