"""Checkpoints written while the log is quiet: a truncated tail is caught within
``checkpoint_interval_s`` even when no record arrives after it (fake clock, fake sleep)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from audit_fakes import FakeClock
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mailfort.audit.chain import AuditChain, TamperKind
from mailfort.audit.checkpoint_timer import CheckpointTimer
from mailfort.audit.events import LoginFailed, LoginFailureReason

INTERVAL_S = 60.0


def _fail(i: int, at: float) -> LoginFailed:
    return LoginFailed(at=at, user=f"user{i}@example.com", peer=f"198.51.100.{i}",
                       reason=LoginFailureReason.BAD_PASSWORD, is_counted=True)


class _Stop(Exception):
    """Ends the timer's loop from the fake sleep."""


class FakeSleep:
    """Advances the fake clock by what the timer asks for; stops after ``limit`` calls."""

    def __init__(self, clock: FakeClock, limit: int) -> None:
        self.clock = clock
        self.limit = limit
        self.asked: list[float] = []

    async def __call__(self, seconds: float) -> None:
        if len(self.asked) >= self.limit:
            raise _Stop
        self.asked.append(seconds)
        self.clock.advance(seconds)


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def _quiet_tail(tmp_path: Path, key: Ed25519PrivateKey, clock: FakeClock) -> AuditChain:
    """Records 1..3: the first is signed on append (nothing signed for long), 2 and 3 arrive
    10 s apart and stay unsigned; then the log goes quiet."""
    chain = AuditChain(tmp_path / "audit.db", clock, signer=key, checkpoint_every=1000,
                       checkpoint_interval_s=INTERVAL_S)
    clock.advance(INTERVAL_S)
    chain.append([_fail(1, clock.now())])
    for i in (2, 3):
        clock.advance(10)
        chain.append([_fail(i, clock.now())])
    assert [c.seq for c in chain.checkpoints()] == [1]
    return chain


def _truncate_and_verify(tmp_path: Path, key: Ed25519PrivateKey, after: int) -> object:
    with sqlite3.connect(str(tmp_path / "audit.db"), isolation_level=None) as db:
        db.execute("DELETE FROM records WHERE seq > ?", (after,))
    reader = AuditChain(tmp_path / "audit.db", FakeClock())
    try:
        return reader.verify(key.public_key()).problem
    finally:
        reader.close()


def test_timer_signs_the_quiet_tail_within_the_interval(tmp_path: Path,
                                                        key: Ed25519PrivateKey) -> None:
    clock = FakeClock()
    chain = _quiet_tail(tmp_path, key, clock)
    last_record_at = clock.now()
    sleep = FakeSleep(clock, limit=2)
    timer = CheckpointTimer(chain, sleep=sleep)
    with pytest.raises(_Stop):
        asyncio.run(timer.run())
    # It woke once, exactly when the tail fell due (60 s after the last checkpoint, i.e.
    # 40 s after the last record), signed it, then slept a whole interval.
    assert sleep.asked == [pytest.approx(INTERVAL_S - 20), INTERVAL_S]
    assert timer.written == 1
    cp = chain.checkpoints()[-1]
    assert cp.seq == 3 and cp.at - last_record_at <= INTERVAL_S
    # Nothing new: a second due-check writes nothing.
    assert chain.due_in_s() is None
    assert asyncio.run(timer.tick()) is None
    chain.close()
    problem = _truncate_and_verify(tmp_path, key, after=2)
    assert problem is not None
    assert (problem.kind, problem.seq) == (TamperKind.TRUNCATED, 3)  # type: ignore[attr-defined]


def test_without_the_timer_a_quiet_tail_is_cut_unseen(tmp_path: Path,
                                                      key: Ed25519PrivateKey) -> None:
    """What the timer is for: the same tail, unsigned, can be removed without trace."""
    clock = FakeClock()
    chain = _quiet_tail(tmp_path, key, clock)
    clock.advance(10 * INTERVAL_S)
    chain._db.close()  # noqa: SLF001 - a crash: no closing checkpoint
    assert _truncate_and_verify(tmp_path, key, after=1) is None


def test_not_due_yet_writes_nothing(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    clock = FakeClock()
    chain = _quiet_tail(tmp_path, key, clock)
    due = chain.due_in_s()
    assert due == pytest.approx(INTERVAL_S - 20)
    clock.advance(INTERVAL_S - 21)
    assert chain.checkpoint_if_due() is None
    clock.advance(1)
    cp = chain.checkpoint_if_due()
    assert cp is not None and cp.seq == 3
    chain.close()


def test_a_failing_checkpoint_is_logged_and_the_timer_goes_on(tmp_path: Path,
                                                              key: Ed25519PrivateKey) -> None:
    clock = FakeClock()
    chain = _quiet_tail(tmp_path, key, clock)
    chain._db.close()  # noqa: SLF001 - any sqlite error will do
    sleep = FakeSleep(clock, limit=3)
    timer = CheckpointTimer(chain, sleep=sleep)
    with pytest.raises(_Stop):
        asyncio.run(timer.run())
    assert len(sleep.asked) == 3 and timer.written == 0
    assert min(sleep.asked) > 0  # overdue and failing: it still never spins
