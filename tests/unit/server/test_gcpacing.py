"""The garbage-collector pacer: full collections while the loop is quiet, never while it is
busy, at most one per gap; start freezes start-up objects and stop restores CPython's way."""

from __future__ import annotations

import asyncio
import gc

from mailfort.server import gcpacing
from mailfort.server.gcpacing import GcPacer


class _Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _pacer(clock: _Clock, collected: list[float], young: list[int],
           activity: list[int] | None = None) -> GcPacer:
    seen = activity if activity is not None else [0]
    return GcPacer(collect=lambda: collected.append(clock.t), now=clock,
                   young_collections=lambda: young[0], activity=lambda: seen[0])


async def _run_ticks(pacer: GcPacer, clock: _Clock, lags: list[float]) -> None:
    """Drive ``tick`` by hand: each tick fires ``lag`` seconds after it was due."""
    for lag in lags:
        assert pacer._handle is not None
        pacer._handle.cancel()
        clock.t = pacer._due + lag
        pacer.tick()


def test_collects_only_after_quiet_ticks_and_the_gap() -> None:
    asyncio.run(asyncio.wait_for(_quiet_ticks_and_gap(), 10))


async def _quiet_ticks_and_gap() -> None:
    clock, collected, young = _Clock(), [], [3]
    pacer = _pacer(clock, collected, young)
    saved = gc.get_threshold()
    pacer.start()
    try:
        assert gc.get_threshold()[0] == gcpacing.YOUNG_THRESHOLD
        assert gc.get_freeze_count() > 0  # start-up objects are out of the collector's way
        await _run_ticks(pacer, clock, [0.0] * 5)
        assert collected == []  # quiet, but not 5 s since start-up's own collection
        await _run_ticks(pacer, clock, [0.0] * 6)
        assert len(collected) == 1  # quiet for 2 ticks and 5 s since the last
        await _run_ticks(pacer, clock, [0.0] * 6)
        assert len(collected) == 1  # not again before the gap
        await _run_ticks(pacer, clock, [0.0, 0.5] * 20)  # busy every other tick
        assert len(collected) == 1
        await _run_ticks(pacer, clock, [0.0] * 2)
        assert len(collected) == 2
        young[0] = 1  # too little allocated since: nothing to collect
        await _run_ticks(pacer, clock, [0.0] * 40)
        assert len(collected) == 2
    finally:
        pacer.stop()
    assert gc.get_threshold() == saved
    assert gc.get_freeze_count() == 0


async def _slow_collections_space_out() -> None:
    clock, collected, young = _Clock(), [], [3]
    pacer = GcPacer(collect=lambda: collected.append(clock.t), now=clock,
                    young_collections=lambda: young[0])
    pacer.start()
    try:
        await _run_ticks(pacer, clock, [0.0] * 12)
        assert len(collected) == 1
        pacer._last_took = 1.0  # a 1 s collection: the next no sooner than 20 s after
        await _run_ticks(pacer, clock, [0.0] * 30)
        assert len(collected) == 1
        await _run_ticks(pacer, clock, [0.0] * 12)
        assert len(collected) == 2
    finally:
        pacer.stop()


async def _client_input_is_not_quiet() -> None:
    clock, collected, young, activity = _Clock(), [], [3], [0]
    pacer = _pacer(clock, collected, young, activity)
    pacer.start()
    try:
        for _ in range(40):  # a client sends something every tick: never quiet
            activity[0] += 1
            await _run_ticks(pacer, clock, [0.0])
        assert collected == []
        await _run_ticks(pacer, clock, [0.0] * 2)  # one silent second
        assert len(collected) == 1
    finally:
        pacer.stop()


def test_client_input_keeps_the_server_from_being_quiet() -> None:
    asyncio.run(asyncio.wait_for(_client_input_is_not_quiet(), 10))


def test_slow_collections_take_at_most_five_percent() -> None:
    asyncio.run(asyncio.wait_for(_slow_collections_space_out(), 10))


def test_runs_on_the_loop_and_stops() -> None:
    asyncio.run(asyncio.wait_for(_on_the_loop(), 10))


async def _on_the_loop() -> None:
    collected: list[float] = []
    pacer = GcPacer(collect=lambda: collected.append(0.0))
    pacer.start()
    try:
        assert pacer._handle is not None
        await asyncio.sleep(0)
    finally:
        pacer.stop()
    assert pacer._handle is None
