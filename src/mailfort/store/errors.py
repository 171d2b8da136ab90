"""Domain errors of the store. They know nothing of IMAP or HTTP."""

from __future__ import annotations

from mailfort.core.errors import MailfortError

__all__ = ["StoreError", "NoSuchMailbox", "MailboxExists", "NoSuchUser", "UserExists",
           "MailboxHasChildren", "InvalidMailboxName", "InboxCannotBeDeleted"]


class StoreError(MailfortError):
    pass


class NoSuchMailbox(StoreError):
    pass


class MailboxExists(StoreError):
    pass


class MailboxHasChildren(StoreError):
    """DELETE of a mailbox with inferior names that has \\Noselect semantics (unused by
    default: Mailfort deletes the mailbox and keeps its children)."""


class InvalidMailboxName(StoreError):
    pass


class InboxCannotBeDeleted(StoreError):
    pass


class NoSuchUser(StoreError):
    pass


class UserExists(StoreError):
    pass
