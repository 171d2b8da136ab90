"""The hash chain: appends, signed checkpoints, and verify naming the first tampered record."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from audit_fakes import FakeClock
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mailfort.audit.chain import (
    GENESIS_HASH,
    AuditChain,
    ChainError,
    TamperKind,
    check_key_outside,
    generate_signing_key,
    load_signing_key,
    load_verify_key,
    record_digest,
)
from mailfort.audit.events import LoginFailed, LoginFailureReason, LoginSucceeded, LogPruned


def _fail(i: int, at: float) -> LoginFailed:
    return LoginFailed(at=at, user=f"user{i}@example.com", peer=f"198.51.100.{i % 250}",
                       reason=LoginFailureReason.BAD_PASSWORD, is_counted=True)


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def _chain(tmp_path: Path, key: Ed25519PrivateKey | None, clock: FakeClock,
           every: int = 5) -> AuditChain:
    return AuditChain(tmp_path / "audit.db", clock, signer=key, checkpoint_every=every,
                      checkpoint_interval_s=10_000)


def _filled(tmp_path: Path, key: Ed25519PrivateKey, n: int = 12, every: int = 5) -> AuditChain:
    clock = FakeClock()
    chain = _chain(tmp_path, key, clock, every)
    for i in range(1, n + 1):
        chain.append([_fail(i, clock.now())])
        clock.advance(60)
    return chain


def _db(tmp_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(str(tmp_path / "audit.db"), isolation_level=None)


def test_append_links_each_record_to_its_predecessor(tmp_path: Path,
                                                     key: Ed25519PrivateKey) -> None:
    chain = _filled(tmp_path, key, n=3)
    recs = chain.search()
    assert [r.seq for r in recs] == [1, 2, 3]
    assert recs[0].prev_hash == GENESIS_HASH
    assert recs[1].prev_hash == recs[0].hash and recs[2].prev_hash == recs[1].hash
    assert recs[0].hash == record_digest(GENESIS_HASH, recs[0].at, recs[0].type, recs[0].body)
    assert recs[0].user == "user1@example.com" and recs[0].peer == "198.51.100.1"
    assert recs[0].fields()["reason"] == "bad_password"
    assert "password" not in {k for r in recs for k in r.fields() if k != "reason"}


def test_intact_chain_verifies_with_checkpoints(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    chain = _filled(tmp_path, key, n=12, every=5)
    chain.close()
    chain = _chain(tmp_path, None, FakeClock())
    report = chain.verify(key.public_key())
    assert report.is_ok, report.describe()
    assert report.records == 12 and report.checkpoints_checked == 3  # 5, 10, and 12 at close
    assert report.describe().startswith("OK: 12 records")


def test_reopen_continues_the_chain(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    chain = _filled(tmp_path, key, n=3)
    chain.close()
    clock = FakeClock(1_800_000_000.0)
    chain = _chain(tmp_path, key, clock)
    chain.append([_fail(99, clock.now())])
    recs = chain.search()
    assert recs[-1].seq == 4 and recs[-1].prev_hash == recs[-2].hash
    assert chain.verify(key.public_key()).is_ok


def test_edited_record_is_named(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    _filled(tmp_path, key).close()
    db = _db(tmp_path)
    body = db.execute("SELECT body FROM records WHERE seq = 7").fetchone()[0]
    db.execute("UPDATE records SET body = ? WHERE seq = 7",
               (body.replace("user7@", "mallory@"),))
    report = _chain(tmp_path, None, FakeClock()).verify(key.public_key())
    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq) == (TamperKind.ALTERED, 7)
    assert "record 7 altered" in report.describe()


def test_edited_index_column_is_named(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    _filled(tmp_path, key).close()
    _db(tmp_path).execute("UPDATE records SET peer = '10.9.9.9' WHERE seq = 4")
    problem = _chain(tmp_path, None, FakeClock()).verify(key.public_key()).problem
    assert problem is not None and (problem.kind, problem.seq) == (TamperKind.ALTERED, 4)


def test_rehashed_rewrite_is_caught_by_the_signed_checkpoint(
        tmp_path: Path, key: Ed25519PrivateKey) -> None:
    """An attacker who knows the algorithm rewrites record 7 and re-hashes everything after it;
    only the signed checkpoint at 10 can tell, and it names the segment's first record."""
    _filled(tmp_path, key).close()
    db = _db(tmp_path)
    rows = db.execute("SELECT seq, at, type, body FROM records WHERE seq >= 6 "
                      "ORDER BY seq").fetchall()
    prev = db.execute("SELECT hash FROM records WHERE seq = 5").fetchone()[0]
    for seq, at, type_, body in rows:
        if seq == 7:
            body = body.replace("user7@", "mallory@")
            db.execute("UPDATE records SET user = 'mallory@example.com' WHERE seq = 7")
        digest = record_digest(prev, at, type_, body)
        db.execute("UPDATE records SET body = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                   (body, prev, digest, seq))
        prev = digest
    problem = _chain(tmp_path, None, FakeClock()).verify(key.public_key()).problem
    assert problem is not None and (problem.kind, problem.seq) == (TamperKind.ALTERED, 6)


def test_deleted_record_is_named(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    _filled(tmp_path, key).close()
    _db(tmp_path).execute("DELETE FROM records WHERE seq = 8")
    problem = _chain(tmp_path, None, FakeClock()).verify(key.public_key()).problem
    assert problem is not None and (problem.kind, problem.seq) == (TamperKind.DELETED, 8)


def test_deleted_and_renumbered_record_is_named(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    _filled(tmp_path, key).close()
    db = _db(tmp_path)
    db.execute("DELETE FROM records WHERE seq = 8")
    db.execute("UPDATE records SET seq = -(seq - 1) WHERE seq > 8")
    db.execute("UPDATE records SET seq = -seq WHERE seq < 0")
    problem = _chain(tmp_path, None, FakeClock()).verify(key.public_key()).problem
    assert problem is not None and (problem.kind, problem.seq) == (TamperKind.DELETED, 8)


def _insert_at(db: sqlite3.Connection, seq: int, chained: bool) -> None:
    db.execute("UPDATE records SET seq = -(seq + 1) WHERE seq >= ?", (seq,))
    db.execute("UPDATE records SET seq = -seq WHERE seq < 0")
    prev = (db.execute("SELECT hash FROM records WHERE seq = ?", (seq - 1,)).fetchone()[0]
            if chained else "ab" * 32)
    at, body = 1_700_000_000.0 + 60 * (seq - 1) + 1, '{"user":"forged@example.com"}'
    digest = record_digest(prev, at, "LoginSucceeded", body)
    db.execute("INSERT INTO records VALUES (?,?,?,?,?,?,?,?,?)",
               (seq, at, "LoginSucceeded", "forged@example.com", None, None, body, prev, digest))


@pytest.mark.parametrize("chained", [True, False])
def test_inserted_record_is_named(tmp_path: Path, key: Ed25519PrivateKey, chained: bool) -> None:
    _filled(tmp_path, key).close()
    _insert_at(_db(tmp_path), 4, chained)
    problem = _chain(tmp_path, None, FakeClock()).verify(key.public_key()).problem
    assert problem is not None and (problem.kind, problem.seq) == (TamperKind.INSERTED, 4)


def test_reordered_records_are_named(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    _filled(tmp_path, key).close()
    db = _db(tmp_path)
    db.execute("UPDATE records SET seq = -1 WHERE seq = 3")
    db.execute("UPDATE records SET seq = 3 WHERE seq = 4")
    db.execute("UPDATE records SET seq = 4 WHERE seq = -1")
    problem = _chain(tmp_path, None, FakeClock()).verify(key.public_key()).problem
    assert problem is not None and (problem.kind, problem.seq) == (TamperKind.REORDERED, 3)


def test_truncated_tail_is_named(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    _filled(tmp_path, key).close()  # checkpoint at 12 on close
    _db(tmp_path).execute("DELETE FROM records WHERE seq > 9")
    problem = _chain(tmp_path, None, FakeClock()).verify(key.public_key()).problem
    assert problem is not None and (problem.kind, problem.seq) == (TamperKind.TRUNCATED, 10)


def test_truncated_to_empty_is_named(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    _filled(tmp_path, key).close()
    _db(tmp_path).execute("DELETE FROM records")
    problem = _chain(tmp_path, None, FakeClock()).verify(key.public_key()).problem
    assert problem is not None and problem.kind is TamperKind.TRUNCATED


def test_forged_checkpoint_signature_is_named(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    _filled(tmp_path, key).close()
    _db(tmp_path).execute("UPDATE checkpoints SET signature = ? WHERE seq = 5", ("00" * 64,))
    problem = _chain(tmp_path, None, FakeClock()).verify(key.public_key()).problem
    assert problem is not None and (problem.kind, problem.seq) == (TamperKind.BAD_CHECKPOINT, 5)


def test_checkpoints_signed_by_another_key_fail(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    _filled(tmp_path, key).close()
    other = Ed25519PrivateKey.generate()
    report = _chain(tmp_path, None, FakeClock()).verify(other.public_key())
    assert report.problem is not None and report.problem.kind is TamperKind.BAD_CHECKPOINT


def test_prune_keeps_the_chain_verifiable(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    clock = FakeClock()
    chain = _chain(tmp_path, key, clock, every=5)
    for i in range(1, 13):
        chain.append([_fail(i, clock.now())])
        clock.advance(60)
    cutoff = 1_700_000_000.0 + 60 * 7.5  # records 1..8 are older
    removed = chain.prune(cutoff)
    assert removed == 5  # up to the checkpoint at 5; 6..8 wait for a later checkpoint
    recs = chain.search()
    assert recs[0].seq == 6 and recs[-1].type == "LogPruned"
    assert recs[-1].fields()["through_seq"] == 5
    assert chain.verify(key.public_key()).is_ok
    chain.close()


def test_head_deletion_posing_as_pruning_is_named(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    """Deleting old records up to a checkpoint without a LogPruned record is still caught."""
    _filled(tmp_path, key).close()
    _db(tmp_path).execute("DELETE FROM records WHERE seq <= 5")
    problem = _chain(tmp_path, None, FakeClock()).verify(key.public_key()).problem
    assert problem is not None and (problem.kind, problem.seq) == (TamperKind.DELETED, 1)


def test_head_deletion_without_anchor_is_named(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    _filled(tmp_path, key).close()
    _db(tmp_path).execute("DELETE FROM records WHERE seq <= 3")
    problem = _chain(tmp_path, None, FakeClock()).verify(key.public_key()).problem
    assert problem is not None and (problem.kind, problem.seq) == (TamperKind.DELETED, 1)


def test_prune_without_key_refuses(tmp_path: Path) -> None:
    chain = _chain(tmp_path, None, FakeClock())
    with pytest.raises(ChainError):
        chain.prune(2_000_000_000.0)


def test_verify_without_public_key_says_so(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    chain = _filled(tmp_path, key, n=2)
    report = chain.verify(None)
    assert report.is_ok and not report.signatures_checked
    assert "NOT checked" in report.describe()


def test_search_filters(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    clock = FakeClock()
    chain = _chain(tmp_path, key, clock)
    chain.append([_fail(1, clock.now()), _fail(2, clock.now() + 10),
                  LoginSucceeded(at=clock.now() + 20, user="user1@example.com",
                                 peer="203.0.113.5", method="password", is_known_source=False),
                  LogPruned(at=clock.now() + 30, through_seq=0, older_than=0.0)])
    assert [r.seq for r in chain.search(user="user1@example.com")] == [1, 3]
    assert [r.seq for r in chain.search(peer="203.0.113.5")] == [3]
    assert [r.seq for r in chain.search(types=["LoginFailed"])] == [1, 2]
    assert [r.seq for r in chain.search(since=clock.now() + 10, until=clock.now() + 30)] == [2, 3]


def test_keys_generate_load_and_refuse_data_dir(tmp_path: Path) -> None:
    keyfile = tmp_path / "keys" / "audit.key"
    pub = generate_signing_key(keyfile)
    assert (keyfile.stat().st_mode & 0o777) == 0o600
    assert pub.name == "audit.key.pub"
    priv = load_signing_key(keyfile)
    msg = b"x"
    load_verify_key(keyfile).verify(priv.sign(msg), msg)
    load_verify_key(pub).verify(priv.sign(msg), msg)
    with pytest.raises(ChainError):
        generate_signing_key(keyfile)
    check_key_outside(keyfile, tmp_path / "data")
    with pytest.raises(ChainError):
        check_key_outside(tmp_path / "data" / "k.key", tmp_path / "data")
