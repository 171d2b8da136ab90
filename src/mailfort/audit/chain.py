"""The tamper-evident audit log: an append-only, hash-chained SQLite table with signed checkpoints.

Storage: its own database file (``data_dir/audit.db``), WAL mode, one transaction per batch of
events (the bus hands events over in batches off the request path, so appends stay cheap).

Each record stores ``hash = SHA-256(prev_hash "\\n" canonical-JSON{at, type, body})`` where
``prev_hash`` is its predecessor's hash (64 zeros for the first record). Every
``checkpoint_every`` records, or ``checkpoint_interval_s`` seconds, and on close, the log writes
a checkpoint: the (seq, hash, time) of its latest record signed with Ed25519. The private key
lives outside the data directory; verification needs only the public key (``KEY.pub``).

``verify`` walks the chain and names the first record that was altered, deleted, inserted,
reordered or truncated (see ``TamperKind``). Retention (``prune``) removes whole records up to a
signed checkpoint and appends a ``LogPruned`` record: the remaining chain starts at a record whose
predecessor hash is signed in that checkpoint, so it stays verifiable after pruning.

Known limit: records appended after the latest checkpoint can be cut off the end without trace
until the next checkpoint (at most ``checkpoint_every`` records or ``checkpoint_interval_s``).
A quiet log is signed too: ``audit.checkpoint_timer.CheckpointTimer`` calls
``checkpoint_if_due`` when ``due_in_s`` says so, so a truncated tail is detectable within
``checkpoint_interval_s`` even when no record follows it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from mailfort.audit.events import AuditEvent, LogPruned
from mailfort.core.clock import Clock
from mailfort.core.errors import MailfortError

__all__ = [
    "AuditChain", "AuditRecord", "Checkpoint", "ChainError", "TamperKind", "Problem",
    "VerifyReport", "JsonValue", "GENESIS_HASH", "event_fields", "record_digest",
    "generate_signing_key", "load_signing_key", "load_verify_key", "public_key_path",
    "check_key_outside",
]

JsonValue = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]

GENESIS_HASH: Final = "0" * 64
_SIGNED_PREFIX: Final = b"mailfort-audit-checkpoint-v1\n"

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    type TEXT NOT NULL,
    user TEXT,
    peer TEXT,
    session_id TEXT,
    body TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_at ON records(at);
CREATE INDEX IF NOT EXISTS records_user ON records(user, at);
CREATE INDEX IF NOT EXISTS records_peer ON records(peer, at);
CREATE TABLE IF NOT EXISTS checkpoints (
    seq INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    hash TEXT NOT NULL,
    signature TEXT NOT NULL
);
"""


class ChainError(MailfortError):
    """The audit log cannot do what was asked (no key, key inside the data directory, ...)."""


class TamperKind(Enum):
    ALTERED = "altered"
    DELETED = "deleted"
    INSERTED = "inserted"
    REORDERED = "reordered"
    TRUNCATED = "truncated"
    BAD_CHECKPOINT = "bad_checkpoint"


@dataclass(frozen=True, slots=True)
class Problem:
    kind: TamperKind
    seq: int  # the first bad record (for TRUNCATED: the first missing one)
    detail: str


@dataclass(frozen=True, slots=True)
class VerifyReport:
    records: int
    checkpoints_checked: int
    first_seq: int | None
    last_seq: int | None
    signatures_checked: bool
    problem: Problem | None

    @property
    def is_ok(self) -> bool:
        return self.problem is None

    def describe(self) -> str:
        if self.problem is None:
            span = (f"records {self.first_seq}..{self.last_seq}" if self.first_seq is not None
                    else "no records")
            sig = (f"{self.checkpoints_checked} signed checkpoint(s) verified"
                   if self.signatures_checked else
                   "signatures NOT checked (no public key): truncation and rewrites undetectable")
            return f"OK: {self.records} records ({span}), {sig}"
        p = self.problem
        return f"TAMPERED: record {p.seq} {p.kind.value}: {p.detail}"


@dataclass(frozen=True, slots=True)
class AuditRecord:
    seq: int
    at: float
    type: str
    user: str | None
    peer: str | None
    session_id: str | None
    body: str  # canonical JSON of the event's fields
    prev_hash: str
    hash: str

    def fields(self) -> dict[str, JsonValue]:
        value = json.loads(self.body)
        return value if isinstance(value, dict) else {}

    def to_json(self) -> str:
        return json.dumps({"seq": self.seq, "at": self.at, "type": self.type,
                           "fields": self.fields(), "prev_hash": self.prev_hash,
                           "hash": self.hash}, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Checkpoint:
    seq: int
    at: float
    hash: str
    signature: str  # hex


def _to_json(value: object) -> JsonValue:
    if isinstance(value, Enum):
        return _to_json(value.value)
    if isinstance(value, (tuple, list)):
        return [_to_json(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def event_fields(event: AuditEvent) -> dict[str, JsonValue]:
    """The event's fields as JSON values (enums by value, tuples as lists)."""
    return {f.name: _to_json(getattr(event, f.name)) for f in dataclasses.fields(event)}


def _canonical(value: JsonValue) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def record_digest(prev_hash: str, at: float, type_: str, body: str) -> str:
    head = _canonical({"at": at, "type": type_})
    data = f"{prev_hash}\n{head}\n{body}".encode()
    return hashlib.sha256(data).hexdigest()


def _columns(fields: dict[str, JsonValue]) -> tuple[str | None, str | None, str | None]:
    def text(name: str) -> str | None:
        v = fields.get(name)
        return v if isinstance(v, str) else None

    return text("user"), text("peer") or text("source"), text("session_id")


def _signed_message(seq: int, hash_: str, at: float) -> bytes:
    return _SIGNED_PREFIX + _canonical({"seq": seq, "hash": hash_, "at": at}).encode()


# --- keys ----------------------------------------------------------------------------------------

def public_key_path(key_path: Path) -> Path:
    return key_path.with_name(key_path.name + ".pub")


def check_key_outside(key_path: Path, data_dir: Path) -> None:
    """Refuse a signing key kept inside the data directory (whoever can rewrite the log there
    could then re-sign it)."""
    key = key_path.resolve()
    data = data_dir.resolve()
    if key == data or data in key.parents:
        raise ChainError(f"the audit signing key {key_path} must be outside the data "
                         f"directory {data_dir}")


def generate_signing_key(key_path: Path) -> Path:
    """Write a new Ed25519 private key (mode 0600) and its public key beside it (KEY.pub).
    Refuses to overwrite. Returns the public key's path."""
    if key_path.exists():
        raise ChainError(f"{key_path} already exists; refusing to overwrite a signing key")
    key_path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    pub = public_key_path(key_path)
    pub.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
    return pub


def load_signing_key(key_path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except OSError as exc:
        raise ChainError(f"cannot read the audit signing key {key_path}: {exc.strerror}") from None
    except ValueError:
        raise ChainError(f"{key_path} is not a PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ChainError(f"{key_path} is not an Ed25519 key")
    return key


def load_verify_key(key_path: Path) -> Ed25519PublicKey:
    """The public key: KEY.pub if present, else derived from the private key at KEY_PATH (or
    KEY_PATH itself when it names a public key)."""
    candidates = [key_path] if key_path.name.endswith(".pub") else [public_key_path(key_path)]
    for path in candidates:
        if path.is_file():
            try:
                pub = serialization.load_pem_public_key(path.read_bytes())
            except ValueError:
                raise ChainError(f"{path} is not a PEM public key") from None
            if not isinstance(pub, Ed25519PublicKey):
                raise ChainError(f"{path} is not an Ed25519 key")
            return pub
    return load_signing_key(key_path).public_key()


# --- the log ------------------------------------------------------------------------------------

class AuditChain:
    """The hash-chained log. Thread-safe (the bus appends from a worker thread)."""

    def __init__(self, path: Path, clock: Clock, *, signer: Ed25519PrivateKey | None = None,
                 checkpoint_every: int = 256, checkpoint_interval_s: float = 60.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._clock = clock
        self._signer = signer
        self._checkpoint_every = max(1, checkpoint_every)
        self._checkpoint_interval_s = checkpoint_interval_s
        self._lock = threading.Lock()
        # Create the file private before SQLite opens it: its -wal and -shm files take the
        # database file's mode, so they are private too (SECURITY.md row 31).
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        row = self._db.execute("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1").fetchone()
        self._last_seq: int = row[0] if row else 0
        self._last_hash: str = row[1] if row else GENESIS_HASH
        cp = self._db.execute("SELECT MAX(seq) FROM checkpoints").fetchone()
        self._checkpoint_seq: int = cp[0] if cp and cp[0] is not None else 0
        self._checkpoint_mono = clock.monotonic()

    @property
    def path(self) -> Path:
        return self._path

    @property
    def last_seq(self) -> int:
        return self._last_seq

    def close(self) -> None:
        with self._lock:
            if self._signer is not None and self._last_seq > self._checkpoint_seq:
                self._write_checkpoint()
            self._db.close()

    # --- appending ---

    def append(self, events: Sequence[AuditEvent]) -> int:
        """Append events in one durable transaction; returns the last record's seq."""
        if not events:
            return self._last_seq
        with self._lock:
            # The head is read inside the write transaction: another process (the CLI's
            # admin actions while the server runs) may have appended since.
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute(
                    "SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1").fetchone()
                if row is not None:
                    self._last_seq, self._last_hash = int(row[0]), str(row[1])
                seq, prev = self._last_seq, self._last_hash
                rows = []
                for event in events:
                    fields = event_fields(event)
                    body = _canonical(fields)
                    type_ = type(event).__name__
                    at = float(event.at)
                    digest = record_digest(prev, at, type_, body)
                    seq += 1
                    rows.append((seq, at, type_, *_columns(fields), body, prev, digest))
                    prev = digest
                self._db.executemany("INSERT INTO records VALUES (?,?,?,?,?,?,?,?,?)", rows)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._last_seq, self._last_hash = seq, prev
            if self._signer is not None and (
                    self._last_seq - self._checkpoint_seq >= self._checkpoint_every
                    or self._clock.monotonic() - self._checkpoint_mono
                    >= self._checkpoint_interval_s):
                self._write_checkpoint()
            return seq

    def checkpoint(self) -> Checkpoint | None:
        """Sign the current head now (None when there is nothing new, or no key)."""
        with self._lock:
            if self._signer is None or self._last_seq <= self._checkpoint_seq:
                return None
            return self._write_checkpoint()

    def due_in_s(self) -> float | None:
        """Seconds until the unsigned tail must be signed (0 when overdue); None when every
        record is covered by a checkpoint (or there is no key)."""
        with self._lock:
            if self._signer is None or self._last_seq <= self._checkpoint_seq:
                return None
            elapsed = self._clock.monotonic() - self._checkpoint_mono
            return max(0.0, self._checkpoint_interval_s - elapsed)

    def checkpoint_if_due(self) -> Checkpoint | None:
        """Sign the head when unsigned records have waited ``checkpoint_interval_s``."""
        with self._lock:
            if (self._signer is None or self._last_seq <= self._checkpoint_seq
                    or self._clock.monotonic() - self._checkpoint_mono
                    < self._checkpoint_interval_s):
                return None
            return self._write_checkpoint()

    @property
    def checkpoint_interval_s(self) -> float:
        return self._checkpoint_interval_s

    def _write_checkpoint(self) -> Checkpoint:
        assert self._signer is not None
        at = self._clock.now()
        sig = self._signer.sign(_signed_message(self._last_seq, self._last_hash, at)).hex()
        self._db.execute("INSERT OR REPLACE INTO checkpoints VALUES (?,?,?,?)",
                         (self._last_seq, at, self._last_hash, sig))
        self._checkpoint_seq = self._last_seq
        self._checkpoint_mono = self._clock.monotonic()
        return Checkpoint(self._last_seq, at, self._last_hash, sig)

    # --- reading ---

    def checkpoints(self) -> list[Checkpoint]:
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, at, hash, signature FROM checkpoints ORDER BY seq").fetchall()
        return [Checkpoint(*r) for r in rows]

    def search(self, *, user: str | None = None, peer: str | None = None,
               types: Sequence[str] = (), since: float | None = None,
               until: float | None = None, limit: int | None = None) -> list[AuditRecord]:
        """Records matching every given filter, oldest first. ``peer`` matches the source
        address of login events and the banned source of ban events alike."""
        where: list[str] = []
        args: list[object] = []
        if user is not None:
            where.append("user = ?")
            args.append(user)
        if peer is not None:
            where.append("peer = ?")
            args.append(peer)
        if types:
            where.append(f"type IN ({','.join('?' * len(types))})")
            args.extend(types)
        if since is not None:
            where.append("at >= ?")
            args.append(since)
        if until is not None:
            where.append("at < ?")
            args.append(until)
        sql = "SELECT * FROM records"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY seq"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [AuditRecord(*r) for r in rows]

    def iter_records(self, batch: int = 1000) -> Iterator[AuditRecord]:
        after = -1
        while True:
            with self._lock:
                rows = self._db.execute("SELECT * FROM records WHERE seq > ? ORDER BY seq LIMIT ?",
                                        (after, batch)).fetchall()
            if not rows:
                return
            for r in rows:
                yield AuditRecord(*r)
            after = rows[-1][0]

    # --- retention ---

    def prune(self, older_than: float) -> int:
        """Remove records up to the newest signed checkpoint whose records are all older than
        ``older_than``; append a LogPruned record. Returns how many records were removed."""
        with self._lock:
            if self._signer is None:
                raise ChainError("pruning needs the signing key (the remaining chain is anchored "
                                 "on a signed checkpoint)")
            if self._last_seq > self._checkpoint_seq:
                self._write_checkpoint()
            # the oldest record not older than the cutoff bounds what may go
            row = self._db.execute("SELECT MIN(seq) FROM records WHERE at >= ?",
                                   (older_than,)).fetchone()
            bound = row[0] if row and row[0] is not None else self._last_seq + 1
            cp = self._db.execute("SELECT MAX(seq) FROM checkpoints WHERE seq < ?",
                                  (bound,)).fetchone()
            through = cp[0] if cp and cp[0] is not None else None
            first = self._db.execute("SELECT MIN(seq) FROM records").fetchone()[0]
            if through is None or first is None or through < first:
                return 0
            self._db.execute("BEGIN IMMEDIATE")
            try:
                cur = self._db.execute("DELETE FROM records WHERE seq <= ?", (through,))
                removed = cur.rowcount
                self._db.execute("DELETE FROM checkpoints WHERE seq < ?", (through,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        self.append([LogPruned(at=self._clock.now(), through_seq=through, older_than=older_than)])
        self.checkpoint()
        return removed

    # --- verification ---

    def verify(self, public_key: Ed25519PublicKey | None) -> VerifyReport:
        with self._lock:
            return _Verifier(self._db, public_key).run()


class _Verifier:
    def __init__(self, db: sqlite3.Connection, public_key: Ed25519PublicKey | None) -> None:
        self._db = db
        self._key = public_key
        self._checked = 0

    def _checkpoint_ok(self, cp: Checkpoint) -> bool:
        if self._key is None:
            return True
        try:
            self._key.verify(bytes.fromhex(cp.signature), _signed_message(cp.seq, cp.hash, cp.at))
        except (InvalidSignature, ValueError):
            return False
        self._checked += 1
        return True

    def _report(self, records: int, first: int | None, last: int | None,
                problem: Problem | None) -> VerifyReport:
        return VerifyReport(records, self._checked, first, last, self._key is not None, problem)

    def run(self) -> VerifyReport:
        cps = {r[0]: Checkpoint(*r) for r in self._db.execute(
            "SELECT seq, at, hash, signature FROM checkpoints ORDER BY seq")}
        first_row = self._db.execute("SELECT MIN(seq), MAX(seq), COUNT(*) FROM records").fetchone()
        first, last, count = first_row
        if first is None:
            if cps:
                top = max(cps)
                return self._report(0, None, None, Problem(
                    TamperKind.TRUNCATED, 1, f"the log is empty but checkpoint {top} signs "
                    f"{top} records"))
            return self._report(0, None, None, None)

        prev_hash = GENESIS_HASH
        prev_seq = 0
        needs_prune_record: int | None = None
        if first > 1:
            anchor = cps.get(first - 1)
            if anchor is None or not self._checkpoint_ok(anchor):
                return self._report(count, first, last, Problem(
                    TamperKind.DELETED, 1, f"records 1..{first - 1} are missing and no valid "
                    f"signed checkpoint anchors record {first}"))
            prev_hash, prev_seq = anchor.hash, anchor.seq
            needs_prune_record = anchor.seq

        for rec in self._iter():
            problem = self._check(rec, prev_seq, prev_hash)
            if problem is not None:
                return self._report(count, first, last, problem)
            if (rec.type == LogPruned.__name__
                    and rec.fields().get("through_seq") == needs_prune_record):
                needs_prune_record = None
            cp = cps.get(rec.seq)
            if cp is not None and cp.seq != first - 1:
                if not self._checkpoint_ok(cp):
                    return self._report(count, first, last, Problem(
                        TamperKind.BAD_CHECKPOINT, rec.seq,
                        f"the signature of checkpoint {cp.seq} is invalid"))
                if cp.hash != rec.hash:
                    low = max((s for s in cps if s < rec.seq), default=first - 1) + 1
                    return self._report(count, first, last, Problem(
                        TamperKind.ALTERED, low, f"records {low}..{rec.seq} were rewritten: "
                        f"record {rec.seq} does not match signed checkpoint {cp.seq}"))
            prev_hash, prev_seq = rec.hash, rec.seq

        if needs_prune_record is not None:
            return self._report(count, first, last, Problem(
                TamperKind.DELETED, 1, f"records 1..{first - 1} are missing and no LogPruned "
                f"record accounts for their removal"))
        beyond = [s for s in cps if s > prev_seq]
        if beyond:
            top = max(beyond)
            return self._report(count, first, last, Problem(
                TamperKind.TRUNCATED, prev_seq + 1,
                f"the log ends at record {prev_seq} but checkpoint {top} signs records up to "
                f"{top}"))
        return self._report(count, first, last, None)

    def _iter(self) -> Iterator[AuditRecord]:
        after = -1
        while True:
            rows = self._db.execute("SELECT * FROM records WHERE seq > ? ORDER BY seq LIMIT 1000",
                                    (after,)).fetchall()
            if not rows:
                return
            for r in rows:
                yield AuditRecord(*r)
            after = rows[-1][0]

    def _check(self, rec: AuditRecord, prev_seq: int, prev_hash: str) -> Problem | None:
        body_ok = True
        try:
            fields = json.loads(rec.body)
        except ValueError:
            body_ok = False
            fields = {}
        if (not body_ok or not isinstance(fields, dict)
                or record_digest(rec.prev_hash, rec.at, rec.type, rec.body) != rec.hash
                or _columns(fields) != (rec.user, rec.peer, rec.session_id)):
            return Problem(TamperKind.ALTERED, rec.seq,
                           "its content does not match its hash")
        if rec.prev_hash == prev_hash:
            if rec.seq != prev_seq + 1:
                return Problem(TamperKind.DELETED, prev_seq + 1,
                               f"records {prev_seq + 1}..{rec.seq - 1} are missing (renumbered)")
            return None
        if rec.seq != prev_seq + 1:
            return Problem(TamperKind.DELETED, prev_seq + 1,
                           f"records {prev_seq + 1}..{rec.seq - 1} are missing")
        earlier = self._db.execute("SELECT seq FROM records WHERE hash = ? AND seq < ?",
                                   (rec.prev_hash, prev_seq)).fetchone()
        if earlier is not None:
            return Problem(TamperKind.INSERTED, earlier[0] + 1,
                           f"records {earlier[0] + 1}..{prev_seq} were inserted: record "
                           f"{rec.seq} chains to record {earlier[0]}")
        later = self._db.execute("SELECT seq FROM records WHERE hash = ? AND seq > ?",
                                 (rec.prev_hash, rec.seq)).fetchone()
        if later is not None:
            return Problem(TamperKind.REORDERED, rec.seq,
                           f"it chains to record {later[0]}, which comes after it")
        successor = self._db.execute("SELECT seq FROM records WHERE prev_hash = ? AND seq > ?",
                                     (prev_hash, rec.seq)).fetchone()
        if successor is not None:
            return Problem(TamperKind.INSERTED, rec.seq,
                           f"records {rec.seq}..{successor[0] - 1} were inserted after "
                           f"record {prev_seq}")
        return Problem(TamperKind.DELETED, rec.seq,
                       f"it does not chain to record {prev_seq}: a record between them was "
                       f"removed, or record {prev_seq} was altered and re-hashed")
