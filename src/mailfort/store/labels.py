"""Mailbox labels (``mailfort label set USER/MAILBOX sensitive``) and the honeytoken registry
(``mailfort honeytoken add``): small admin-written state the audit layer reads.

A label belongs to a mailbox (it follows a rename and goes with a delete). Honeytokens name a
decoy account, a decoy app password of an account, or a canary message (mailbox and UID).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from mailfort.store.types import MailboxId

__all__ = ["LabelStore", "MailboxLabel", "Honeytoken", "HoneytokenKind"]


@dataclass(frozen=True, slots=True)
class MailboxLabel:
    user: str
    mailbox: str
    label: str
    created_at: float


class HoneytokenKind(Enum):
    USER = "user"
    APP_PASSWORD = "app_password"  # noqa: S105 - a kind, not a password
    CANARY = "canary"


@dataclass(frozen=True, slots=True)
class Honeytoken:
    kind: HoneytokenKind
    user: str
    name: str = ""  # the app password's name, or the canary's mailbox
    uid: int = 0  # the canary's UID
    created_at: float = 0.0


class LabelStore(Protocol):
    async def set_label(self, mailbox_id: MailboxId, label: str, at: float) -> bool:
        """True when the label was not there before."""
        ...

    async def clear_label(self, mailbox_id: MailboxId, label: str) -> bool:
        """True when the label was there."""
        ...

    async def labels_of(self, mailbox_id: MailboxId) -> frozenset[str]: ...

    async def list_labels(self, label: str | None = None) -> list[MailboxLabel]: ...

    async def add_honeytoken(self, token: Honeytoken) -> bool:
        """True when it was not registered before."""
        ...

    async def honeytokens(self) -> list[Honeytoken]: ...
