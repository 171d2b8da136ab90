"""Pacing CPython's garbage collector in a server that holds thousands of sessions.

CPython runs a full (oldest-generation) collection once the objects promoted since the last
one exceed a quarter of those that survived it, wherever the allocation that crosses the line
happens to be. With 10,000 sessions in IDLE the heap holds about 800,000 tracked objects and
a full collection stops the event loop for about half a second (measured: BENCHMARKS.md). In
the benchmark it landed, every time, in the middle of an APPEND's fan-out to those idlers.

The pacer (docs/decisions/010-gc-pacing.md):

- freezes what exists once start-up is done (modules, settings, word lists: never garbage),
  so no collection walks it again (``gc.freeze``);
- raises the youngest generation's threshold, so that a burst (10,000 idlers woken at once)
  promotes fewer of its short-lived objects into the old generation;
- pays the old generation's debt as soon as the server is quiet: when no client has sent
  anything for a second, the loop kept up with its ticks, and enough was allocated since the
  last full collection, it runs the full collection itself (at most every 5 s, and at most
  5 % of the time), so the automatic one (left on, as the safety net) rarely falls due during
  the next burst. Under steady load nothing is paced: CPython's own schedule applies.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable
from typing import Final

__all__ = ["GcPacer", "YOUNG_THRESHOLD"]

log = logging.getLogger(__name__)

# Allocations (net) between young collections; CPython's default is 700.
YOUNG_THRESHOLD: Final = 20_000
_TICK_S: Final = 0.5
_QUIET_LAG_S: Final = 0.005  # a tick this late or less: the loop is keeping up
_QUIET_TICKS: Final = 2  # this many quiet ticks in a row (1 s): a full collection may run
# Middle-generation collections since the last full one (each follows 10 young ones, about
# 200,000 net allocations): below this there is too little new to be worth a full pass.
_MIN_MIDDLE_COLLECTIONS: Final = 2
_MIN_GAP_S: Final = 5.0  # paced full collections at most this often, and never more than
_MAX_SHARE: Final = 0.05  # this share of the time (a 0.5 s collection: one per 10 s at most)


class GcPacer:
    """Start with :meth:`start` on the running loop once start-up is done; :meth:`stop`."""

    def __init__(self, *, collect: Callable[[], object] = lambda: gc.collect(2),
                 now: Callable[[], float] = time.monotonic,
                 young_collections: Callable[[], int] = lambda: gc.get_count()[2],
                 activity: Callable[[], int] = lambda: 0) -> None:
        """``young_collections``: middle-generation collections since the last full one;
        ``activity``: a count that grows whenever a client sends something (a tick during
        which it grew is not quiet)."""
        self._collect = collect
        self._now = now
        self._young_collections = young_collections
        self._activity = activity
        self._seen_activity = 0
        self._handle: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._due = 0.0
        self._quiet = 0
        self._last_full = 0.0
        self._last_took = 0.0  # seconds the last paced collection took
        self._saved: tuple[int, int, int] | None = None
        self.full_collections = 0  # paced ones, for tests and the log

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._saved = gc.get_threshold()
        gc.collect()
        gc.freeze()
        _, middle, old = self._saved
        gc.set_threshold(YOUNG_THRESHOLD, middle, old)
        self._last_full = self._now()
        self._schedule()

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            gc.unfreeze()
            self._saved = None

    def _schedule(self) -> None:
        assert self._loop is not None
        self._due = self._now() + _TICK_S
        self._handle = self._loop.call_later(_TICK_S, self.tick)

    def tick(self) -> None:
        """One check (public for tests): count quiet ticks, collect when due."""
        now = self._now()
        lag = now - self._due
        activity = self._activity()
        is_quiet = lag <= _QUIET_LAG_S and activity == self._seen_activity
        self._seen_activity = activity
        self._quiet = self._quiet + 1 if is_quiet else 0
        gap = max(_MIN_GAP_S, self._last_took / _MAX_SHARE)
        if (self._quiet >= _QUIET_TICKS and now - self._last_full >= gap
                and self._young_collections() >= _MIN_MIDDLE_COLLECTIONS):
            started = time.perf_counter()
            self._collect()
            self._last_took = time.perf_counter() - started
            self.full_collections += 1
            self._last_full = self._now()
            self._quiet = 0
            log.debug("gc: full collection while quiet took %.0f ms", self._last_took * 1000)
        if self._loop is not None:
            self._schedule()
