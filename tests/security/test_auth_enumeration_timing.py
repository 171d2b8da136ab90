"""SECURITY.md row #28 — user enumeration by timing.

CVE-2016-6210 (OpenSSH: a long password was hashed only for real users), CVE-2022-36105
(TYPO3), CVE-2026-24031 (Dovecot); ASVS 5.0 6.3.8; RFC 9051 §11.7 (generic failure text).

This module's server restores the realistic hashing cost (Argon2id defaults: 19 MiB, t=2) so
that skipping the hash for unknown users would show; the failure delay is kept short (20 ms) so
that the hash, not the delay, dominates. Loopback is a trusted network for the attack suite (tests/security/wire.py), so the
guard neither bans the many failing accounts nor adds its progressive delays: what is measured is
the login decision itself (``auth.login.LoginService``, via LOGIN and AUTHENTICATE PLAIN). Safe
behaviour: LOGIN as an existing user with a wrong
10 KB password and LOGIN as a nonexistent user get byte-identical completions
(``NO [AUTHENTICATIONFAILED] ...``) and the same latency. Samples are interleaved and compared
by their minimum and median (noise on a shared machine only ever adds time). Scaled from 200 to
40 samples per side: the gap to detect is a whole Argon2id run (tens of ms), far above noise
in the minimum; the bound — the faster side takes at least 60 % of the slower side's time —
never flakes on a correct server and fails any server that skips the hash.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator

import pytest
from tests.security.wire import Server, plain_sasl, quote, serving

SAMPLES = 40


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    overrides: dict[str, dict[str, str | int | bool]] = {"auth": {
        "argon2_memory_kib": 19456, "argon2_time_cost": 2, "failure_delay_ms": 20}}
    with serving(tmp_path_factory.mktemp("mailfort"), overrides=overrides) as srv:
        yield srv


def _timed_login(server: Server, user: bytes, password: bytes) -> tuple[float, bytes]:
    wire = server.tls()
    line = b"a LOGIN " + quote(user) + b" " + quote(password) + b"\r\n"
    started = time.perf_counter()
    wire.send(line)
    reply = wire.read_tagged("a", timeout_s=30)
    elapsed = time.perf_counter() - started
    wire.close()
    return elapsed, reply.text_after_tag


def test_unknown_user_and_wrong_password_are_indistinguishable(server: Server) -> None:
    long_password = b"w" * 10240
    known: list[float] = []
    unknown: list[float] = []
    texts: set[bytes] = set()
    _timed_login(server, b"alice", b"warm-up")  # first hash loads the pool
    for i in range(SAMPLES):
        pair = [(known, b"alice", long_password), (unknown, b"nobody%d" % i, long_password)]
        for bucket, user, password in (pair if i % 2 else reversed(pair)):
            elapsed, text = _timed_login(server, user, password)
            bucket.append(elapsed)
            texts.add(text)
    assert len(texts) == 1, texts
    assert next(iter(texts)).startswith(b"NO [AUTHENTICATIONFAILED]"), texts
    fast, slow = sorted([min(known), min(unknown)])
    assert fast >= 0.6 * slow, f"min latency known={min(known):.4f}s unknown={min(unknown):.4f}s"
    med_fast, med_slow = sorted([statistics.median(known), statistics.median(unknown)])
    assert med_fast >= 0.6 * med_slow, (statistics.median(known), statistics.median(unknown))


def _timed_plain(server: Server, user: bytes, password: bytes) -> tuple[float, bytes]:
    wire = server.tls()
    started = time.perf_counter()
    wire.send(b"a AUTHENTICATE PLAIN " + plain_sasl(b"", user, password) + b"\r\n")
    reply = wire.read_tagged("a", timeout_s=30)
    elapsed = time.perf_counter() - started
    wire.close()
    return elapsed, reply.text_after_tag


def test_sasl_plain_unknown_user_and_wrong_password_are_indistinguishable(
        server: Server) -> None:
    """The same through AUTHENTICATE PLAIN (auth.sasl -> auth.login.LoginService), with an
    ordinary-length wrong password this time."""
    known: list[float] = []
    unknown: list[float] = []
    texts: set[bytes] = set()
    for i in range(SAMPLES // 2):
        pair = [(known, b"bob", b"not-bobs-password-%d" % i),
                (unknown, b"ghost%d" % i, b"not-bobs-password-%d" % i)]
        for bucket, user, password in (pair if i % 2 else reversed(pair)):
            elapsed, text = _timed_plain(server, user, password)
            bucket.append(elapsed)
            texts.add(text)
    assert texts == {b"NO [AUTHENTICATIONFAILED] Authentication failed"}, texts
    fast, slow = sorted([min(known), min(unknown)])
    assert fast >= 0.6 * slow, f"min latency known={min(known):.4f}s unknown={min(unknown):.4f}s"
    med_fast, med_slow = sorted([statistics.median(known), statistics.median(unknown)])
    assert med_fast >= 0.6 * med_slow, (statistics.median(known), statistics.median(unknown))
