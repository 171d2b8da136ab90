"""The audit bus: ``emit`` is cheap and never blocks; subscribers work off the request path.

Each subscriber gets its own bounded queue and worker task, so a slow or failing subscriber
(a webhook that is down, a full disk) never blocks a session nor the other subscribers. When a
subscriber's queue is full, new events for it are dropped and counted (``stats``); the request
path never waits. A subscriber's exception is logged (its type only, never event content) and
counted, and the worker goes on with the next batch.

``emit`` may be called from the event loop's thread (the normal case) or from another thread
(e.g. a password-hashing worker); it never raises.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from mailfort.audit.chain import AuditChain
from mailfort.audit.events import AuditEvent

__all__ = ["AuditBus", "Subscriber", "SubscriberStats", "ChainWriter"]

log = logging.getLogger(__name__)


class Subscriber(Protocol):
    """Receives events in batches, in emission order, off the request path."""

    @property
    def name(self) -> str: ...

    async def handle(self, events: Sequence[AuditEvent]) -> None: ...


@dataclass(frozen=True, slots=True)
class SubscriberStats:
    name: str
    queued: int
    delivered: int
    dropped: int
    failures: int


class _Channel:
    def __init__(self, subscriber: Subscriber, size: int) -> None:
        self.subscriber = subscriber
        self.size = size
        self.queue: deque[AuditEvent] = deque()
        self.wake = asyncio.Event()
        self.idle = asyncio.Event()
        self.idle.set()
        self.delivered = 0
        self.dropped = 0
        self.failures = 0
        self.task: asyncio.Task[None] | None = None


class AuditBus:
    """Fan-out of audit events to subscribers through bounded per-subscriber queues."""

    def __init__(self, *, queue_size: int = 10_000, batch_max: int = 500) -> None:
        self._queue_size = queue_size
        self._batch_max = batch_max
        self._channels: list[_Channel] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._closing = False

    def subscribe(self, subscriber: Subscriber) -> None:
        channel = _Channel(subscriber, self._queue_size)
        self._channels.append(channel)
        if self._loop is not None:
            channel.task = self._loop.create_task(self._work(channel))

    # --- the request path ---

    def emit(self, event: AuditEvent) -> None:
        """Queue ``event`` for every subscriber. Never blocks, never raises."""
        try:
            same_thread = self._loop is None or threading.get_ident() == self._loop_thread
            for channel in self._channels:
                if len(channel.queue) >= channel.size:
                    channel.dropped += 1
                    continue
                channel.queue.append(event)
                if same_thread:
                    channel.idle.clear()
                    channel.wake.set()
                elif self._loop is not None:
                    self._loop.call_soon_threadsafe(self._poke, channel)
        except Exception:  # noqa: BLE001 - emit must never fail a session
            log.exception("audit emit failed")

    @staticmethod
    def _poke(channel: _Channel) -> None:
        channel.idle.clear()
        channel.wake.set()

    # --- lifecycle ---

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        for channel in self._channels:
            if channel.queue:
                channel.idle.clear()
                channel.wake.set()
            if channel.task is None:
                channel.task = self._loop.create_task(self._work(channel))

    async def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every event emitted so far has been handled. False on timeout."""
        for channel in self._channels:
            if channel.queue:
                channel.idle.clear()
                channel.wake.set()
        try:
            async with asyncio.timeout(timeout_s):
                for channel in self._channels:
                    await channel.idle.wait()
        except TimeoutError:
            return False
        return True

    async def aclose(self, timeout_s: float = 10.0) -> None:
        """Drain what is queued (bounded by ``timeout_s``), then stop the workers."""
        await self.flush(timeout_s)
        self._closing = True
        for channel in self._channels:
            if channel.task is not None:
                channel.task.cancel()
        for channel in self._channels:
            if channel.task is not None:
                try:
                    await channel.task
                except asyncio.CancelledError:
                    pass
                channel.task = None
        self._loop = None
        self._loop_thread = None

    def stats(self) -> list[SubscriberStats]:
        return [SubscriberStats(c.subscriber.name, len(c.queue), c.delivered, c.dropped,
                                c.failures) for c in self._channels]

    async def _work(self, channel: _Channel) -> None:
        while True:
            await channel.wake.wait()
            channel.wake.clear()
            while channel.queue:
                n = min(len(channel.queue), self._batch_max)
                batch = [channel.queue.popleft() for _ in range(n)]
                try:
                    await channel.subscriber.handle(batch)
                    channel.delivered += len(batch)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - a sink failure never stops the bus
                    channel.failures += 1
                    log.warning("audit subscriber %s failed: %s", channel.subscriber.name,
                                type(exc).__name__)
            if not channel.queue:
                channel.idle.set()


class ChainWriter:
    """Persists events to the hash-chained log, one transaction per batch, in a thread."""

    def __init__(self, chain: AuditChain) -> None:
        self._chain = chain

    @property
    def name(self) -> str:
        return "chain"

    async def handle(self, events: Sequence[AuditEvent]) -> None:
        await asyncio.to_thread(self._chain.append, events)
