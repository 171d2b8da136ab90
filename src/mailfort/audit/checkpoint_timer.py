"""Signs a quiet audit log: checkpoints written while no record arrives.

``AuditChain`` signs its head every ``checkpoint_every`` records or, on an append, once
``checkpoint_interval_s`` has passed; a log that goes quiet would leave its last records
unsigned, so cutting them off the end would go unseen. ``CheckpointTimer`` wakes when the
unsigned tail falls due (``AuditChain.due_in_s``) and signs it, so truncation is detectable
within ``checkpoint_interval_s`` of the last record, traffic or not. The clock and the sleep are
injected (tests drive them); the signing runs in a thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Final

from mailfort.audit.chain import AuditChain, Checkpoint

__all__ = ["CheckpointTimer"]

log = logging.getLogger(__name__)

_MIN_SLEEP_S: Final = 0.05  # never spin, even when a checkpoint is overdue and keeps failing


class CheckpointTimer:
    def __init__(self, chain: AuditChain, *,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._chain = chain
        self._sleep = sleep
        self.written = 0

    def next_sleep_s(self) -> float:
        """How long to wait: until the unsigned tail is due, else one whole interval (a
        record appended meanwhile falls due no later than that)."""
        due = self._chain.due_in_s()
        interval = max(_MIN_SLEEP_S, self._chain.checkpoint_interval_s)
        return interval if due is None else max(_MIN_SLEEP_S, due)

    async def tick(self) -> Checkpoint | None:
        """Sign the head if it is due (in a thread); failures are logged, never raised."""
        try:
            cp = await asyncio.to_thread(self._chain.checkpoint_if_due)
        except Exception as exc:  # noqa: BLE001 - a failed checkpoint never stops the server
            log.warning("audit checkpoint failed: %s", type(exc).__name__)
            return None
        if cp is not None:
            self.written += 1
        return cp

    async def run(self) -> None:
        """Until cancelled."""
        while True:
            await self._sleep(self.next_sleep_s())
            await self.tick()
