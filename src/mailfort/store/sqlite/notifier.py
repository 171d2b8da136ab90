"""In-process change notifier: after a committed write, the store publishes the mailboxes it
changed and every subscriber of those mailboxes is called on the event loop.

Callbacks are scheduled (never called inline), so a slow or failing subscriber cannot break the
write that published, and publishing from the database thread is safe too.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable

from mailfort.store.types import MailboxId

__all__ = ["InProcessNotifier"]

Callback = Callable[[MailboxId], None]


class InProcessNotifier:
    """Implements ``store.api.Notifier`` for one process and one event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._subscribers: dict[MailboxId, list[Callback]] = {}
        self._published: dict[MailboxId, int] = {}  # publications so far, per mailbox

    def publications(self, mailbox_id: MailboxId) -> int:
        """How many times ``mailbox_id`` was published: a read begun when this number was
        ``n`` sees every write published before, so readers that hear nothing newer may
        share it (``SqliteMessages.changes_since``)."""
        return self._published.get(mailbox_id, 0)

    def subscribe(self, mailbox_id: MailboxId, callback: Callback) -> None:
        with self._lock:
            self._subscribers.setdefault(mailbox_id, []).append(callback)

    def unsubscribe(self, mailbox_id: MailboxId, callback: Callback) -> None:
        """Remove one registration of ``callback``; unknown callbacks are ignored."""
        with self._lock:
            callbacks = self._subscribers.get(mailbox_id)
            if callbacks is None:
                return
            try:
                callbacks.remove(callback)
            except ValueError:
                return
            if not callbacks:
                del self._subscribers[mailbox_id]

    def subscriber_count(self, mailbox_id: MailboxId) -> int:
        with self._lock:
            return len(self._subscribers.get(mailbox_id, ()))

    def publish(self, mailbox_ids: Iterable[MailboxId]) -> None:
        """Schedule every subscriber of each mailbox (once per mailbox) on the loop."""
        calls: list[tuple[Callback, MailboxId]] = []
        with self._lock:
            for mailbox_id in dict.fromkeys(mailbox_ids):
                self._published[mailbox_id] = self._published.get(mailbox_id, 0) + 1
                calls.extend((cb, mailbox_id) for cb in self._subscribers.get(mailbox_id, ()))
        if not calls or self._loop.is_closed():
            return
        if _running_loop() is self._loop:
            for cb, mailbox_id in calls:
                self._loop.call_soon(cb, mailbox_id)
        else:
            for cb, mailbox_id in calls:
                self._loop.call_soon_threadsafe(cb, mailbox_id)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
