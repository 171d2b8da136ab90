"""The benchmark's own code works: the seeded corpus generator is reproducible and well formed,
and the load generator drives a real ``mailfort serve`` subprocess for about a second. This
is not the benchmark (``make bench`` is): nothing here asserts a timing."""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import shutil
from pathlib import Path

import pytest
from bench.mailbench import corpus, scenarios
from bench.mailbench.servers import CHEAP, Account, MailfortServer, make_certificate

pytestmark = pytest.mark.timeout(180)


def test_corpus_is_reproducible_and_well_formed() -> None:
    first = [m.raw for m in corpus.generate(11, 30, max_bytes=40_000)]
    again = [m.raw for m in corpus.generate(11, 30, max_bytes=40_000)]
    other = [m.raw for m in corpus.generate(12, 30, max_bytes=40_000)]
    assert first == again
    assert first != other
    for raw in first:
        assert 1024 < len(raw) < 60_000
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert msg.get_content_type() == "multipart/mixed"
        assert msg["Message-ID"] and msg["From"] and msg["Date"]
        assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")


def test_expected_counts_match_the_generated_flags() -> None:
    msgs = list(corpus.generate(5, 400, max_bytes=8000))
    assert corpus.expected_needles(5, 400) == sum(m.has_needle for m in msgs)
    assert corpus.expected_from(5, 400) == sum(m.from_needle_sender for m in msgs)
    for m in msgs:
        assert (corpus.NEEDLE.encode() in m.raw) == m.has_needle


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is needed for the cert")
def test_load_generator_against_mailfort(tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path / "tls")
    server = MailfortServer(tmp_path / "mailfort", cert, key, scheme=CHEAP)
    mix = Account("mix0", "Smoke-test-pw-1")
    mix1 = Account("mix1", "Smoke-test-pw-3")
    big = Account("big", "Smoke-test-pw-2")
    count = 150
    server.seed([mix, mix1, big], {
        "mix0": lambda: ((m.raw, m.date) for m in corpus.generate(3, 40, max_bytes=20_000)),
        "mix1": lambda: ((m.raw, m.date) for m in corpus.generate(7, 40, max_bytes=20_000)),
        "big": lambda: ((m.raw, m.date) for m in corpus.generate(4, count, max_bytes=20_000)),
    })
    server.start()
    pids = server.pids()
    try:
        assert server.pids() and scenarios.memory_of(server.pids())[0] > 0
        messages = [m.raw for m in corpus.generate(6, 5, max_bytes=10_000)]
        # One client per account: no session sees another's EXPUNGE (a FETCH of a message
        # expunged elsewhere may be NO, which the benchmark counts but the smoke test avoids).
        mixed = asyncio.run(scenarios.mixed(server.port, [mix, mix1], 2, 1.0, messages))
        assert mixed["errors"] == 0, (mixed.get("errors by command"), mixed.get("first error text"))
        assert float(mixed["LOGIN ops/s"]) > 0 and float(mixed["APPEND ops/s"]) > 0

        figures = asyncio.run(scenarios.big_mailbox(server.port, big, repeats=1))
        assert figures["messages"] == count
        assert figures["SEARCH TEXT hits"] == str(corpus.expected_needles(4, count))
        assert figures["SEARCH FROM hits"] == str(corpus.expected_from(4, count))

        idle = asyncio.run(scenarios.idle(server.port, mix, 3, server.pids, settle_s=0))
        assert idle["sessions in IDLE"] == 3 and idle["idlers reached"] == 3

        appended = asyncio.run(scenarios.append_rate(server.port, mix, 6, 2, messages, 60))
        assert float(appended["overall msgs/s"]) > 0
    finally:
        server.stop()
    assert server.proc is None
    assert not os.path.exists(f"/proc/{pids[0]}")  # stopped and reaped: nothing left running
