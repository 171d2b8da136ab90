"""Putting one message into one mailbox: shared by IMAP APPEND and ``mailfort deliver``.

The raw bytes are parsed once (``mail.mime.parse_message``: ENVELOPE, BODYSTRUCTURE, offsets,
search text), then the store writes the blob durably and commits UID and MODSEQ in one
transaction, and the notifier tells selected sessions. The caller answers OK only after that.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Final

from mailfort.core.errors import MailfortError
from mailfort.mail.flags import RECENT, canonical_flag
from mailfort.mail.mime import parse_message
from mailfort.store.api import MailStore
from mailfort.store.errors import NoSuchMailbox, NoSuchUser
from mailfort.store.types import AppendResult, MailboxId

__all__ = ["MessageTooLarge", "deliver", "deliver_to_user", "clean_flags"]

# Parsing bigger messages runs in a worker thread so the event loop keeps serving.
_THREAD_PARSE_BYTES: Final = 256 * 1024


class MessageTooLarge(MailfortError):
    """The message exceeds ``limits.max_message_bytes``."""


def clean_flags(flags: tuple[str, ...] | frozenset[str]) -> frozenset[str]:
    """Canonical system-flag spelling; ``\\Recent`` is never stored."""
    return frozenset(f for f in (canonical_flag(x) for x in flags) if f != RECENT)


async def deliver(store: MailStore, mailbox_id: MailboxId, raw: bytes, *,
                  flags: frozenset[str] = frozenset(),
                  internal_date: dt.datetime | None = None,
                  max_message_bytes: int | None = None) -> AppendResult:
    """Parse and store one message. Raises MessageTooLarge, NoSuchMailbox."""
    if max_message_bytes is not None and len(raw) > max_message_bytes:
        raise MessageTooLarge("message too large")
    if len(raw) > _THREAD_PARSE_BYTES:
        parsed = await asyncio.to_thread(parse_message, raw)
    else:
        parsed = parse_message(raw)
    when = internal_date or dt.datetime.now(dt.UTC)
    return await store.messages.append(mailbox_id, raw, parsed, clean_flags(flags), when)


async def deliver_to_user(store: MailStore, username: str, raw: bytes, *,
                          mailbox: str = "INBOX", max_message_bytes: int | None = None,
                          ) -> AppendResult:
    """Deliver to a user's mailbox by name. Raises NoSuchUser, NoSuchMailbox,
    MessageTooLarge."""
    user = await store.users.get(username)
    if user is None:
        raise NoSuchUser(username)
    info = await store.mailboxes.get(user.id, mailbox)
    if info is None:
        raise NoSuchMailbox(mailbox)
    return await deliver(store, info.id, raw, max_message_bytes=max_message_bytes)
