"""Webhook alert sink: JSON body, HMAC-SHA256 signature, retries with back-off, and a persisted
queue (SQLite) so undelivered alerts survive a restart.

Each request carries:
- ``X-Mailfort-Delivery``: the alert's delivery id (the same on every retry: receivers dedup);
- ``X-Mailfort-Timestamp``: seconds since the epoch when this attempt was signed;
- ``X-Mailfort-Signature``: ``sha256=`` + hex HMAC-SHA256(secret, timestamp + "." + body).

A 2xx answer removes the alert from the queue; anything else (or no answer) schedules a retry
after ``backoff_initial_s * 2**(attempts-1)`` seconds (at most ``backoff_max_s``). After
``max_attempts`` the alert is kept aside as dead (``dead()``) and logged.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import sqlite3
import threading
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mailfort.audit.events import AlertRaised
from mailfort.core.clock import Clock
from mailfort.core.secret import Secret

__all__ = ["WebhookSink", "HttpPoster", "UrllibPoster", "alert_json", "sign"]

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    delivery_id TEXT NOT NULL UNIQUE,
    body BLOB NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL,
    is_dead INTEGER NOT NULL DEFAULT 0
);
"""


class HttpPoster(Protocol):
    """POSTs a body; returns the HTTP status (raises OSError when there is no answer)."""

    async def post(self, url: str, body: bytes, headers: dict[str, str],
                   timeout_s: float) -> int: ...


class UrllibPoster:
    """The standard library's HTTP client, run in a worker thread."""

    async def post(self, url: str, body: bytes, headers: dict[str, str],
                   timeout_s: float) -> int:
        return await asyncio.to_thread(self._post, url, body, headers, timeout_s)

    @staticmethod
    def _post(url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> int:
        if not url.startswith(("https://", "http://")):
            raise OSError("webhook URL must be http(s)")
        req = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(req, timeout=timeout_s) as resp:  # noqa: S310
                status: int = resp.status
                return status
        except urllib.error.HTTPError as exc:
            return exc.code


def alert_json(alert: AlertRaised, delivery_id: str) -> bytes:
    return json.dumps({
        "delivery_id": delivery_id, "kind": alert.kind, "severity": alert.severity.value,
        "at": alert.at, "summary": alert.summary, "user": alert.user,
        "sources": list(alert.sources), "session_id": alert.session_id,
        "details": dict(alert.details), "actions": list(alert.actions),
    }, sort_keys=True, separators=(",", ":")).encode()


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body,
                                hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class _Row:
    id: int
    delivery_id: str
    body: bytes
    attempts: int


class WebhookSink:
    def __init__(self, url: str, secret: Secret[bytes], queue_path: Path, clock: Clock, *,
                 poster: HttpPoster | None = None, max_attempts: int = 8,
                 backoff_initial_s: float = 2.0, backoff_max_s: float = 600.0,
                 timeout_s: float = 10.0) -> None:
        self._url = url
        self._secret = secret
        self._clock = clock
        self._poster: HttpPoster = poster or UrllibPoster()
        self._max_attempts = max_attempts
        self._backoff_initial_s = backoff_initial_s
        self._backoff_max_s = backoff_max_s
        self._timeout_s = timeout_s
        queue_path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(queue_path), check_same_thread=False,
                                   isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.delivered = 0

    @property
    def name(self) -> str:
        return "webhook"

    # --- queueing ---

    def enqueue(self, alert: AlertRaised) -> str:
        """Persist the alert for delivery; returns its delivery id."""
        delivery_id = uuid.uuid4().hex
        self._drained.clear()
        with self._lock:
            self._db.execute("INSERT INTO outbox (delivery_id, body, next_at) VALUES (?,?,?)",
                             (delivery_id, alert_json(alert, delivery_id), self._clock.now()))
        self._wake.set()
        return delivery_id

    async def send(self, alert: AlertRaised) -> None:
        self.enqueue(alert)

    def pending(self) -> int:
        with self._lock:
            return int(self._db.execute(
                "SELECT COUNT(*) FROM outbox WHERE is_dead = 0").fetchone()[0])

    def dead(self) -> int:
        with self._lock:
            return int(self._db.execute(
                "SELECT COUNT(*) FROM outbox WHERE is_dead = 1").fetchone()[0])

    def next_due(self) -> float | None:
        with self._lock:
            row = self._db.execute("SELECT MIN(next_at) FROM outbox WHERE is_dead = 0").fetchone()
        return float(row[0]) if row and row[0] is not None else None

    async def wait_drained(self, timeout_s: float) -> bool:
        """Wait until every queued alert has been delivered (False on timeout)."""
        if self.pending() == 0:
            return True
        try:
            async with asyncio.timeout(timeout_s):
                await self._drained.wait()
        except TimeoutError:
            return False
        return True

    # --- delivering ---

    async def deliver_due(self) -> int:
        """Try every alert whose time has come, once. Returns how many were delivered."""
        now = self._clock.now()
        with self._lock:
            rows = [_Row(*r) for r in self._db.execute(
                "SELECT id, delivery_id, body, attempts FROM outbox "
                "WHERE is_dead = 0 AND next_at <= ? ORDER BY id LIMIT 100", (now,))]
        done = 0
        for row in rows:
            if await self._attempt(row):
                done += 1
        return done

    async def _attempt(self, row: _Row) -> bool:
        timestamp = str(int(self._clock.now()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "mailfort-alerts",
            "X-Mailfort-Delivery": row.delivery_id,
            "X-Mailfort-Timestamp": timestamp,
            "X-Mailfort-Signature": sign(self._secret.reveal(), timestamp, row.body),
        }
        try:
            status = await self._poster.post(self._url, row.body, headers, self._timeout_s)
        except (OSError, TimeoutError) as exc:
            status = 0
            log.info("webhook delivery failed: %s", type(exc).__name__)
        if 200 <= status < 300:
            with self._lock:
                self._db.execute("DELETE FROM outbox WHERE id = ?", (row.id,))
            self.delivered += 1
            if self.pending() == 0:
                self._drained.set()
            return True
        attempts = row.attempts + 1
        delay = min(self._backoff_max_s, self._backoff_initial_s * 2 ** (attempts - 1))
        is_dead = attempts >= self._max_attempts
        if is_dead:
            log.warning("webhook alert %s given up after %d attempts", row.delivery_id, attempts)
        with self._lock:
            self._db.execute("UPDATE outbox SET attempts = ?, next_at = ?, is_dead = ? "
                             "WHERE id = ?",
                             (attempts, self._clock.now() + delay, int(is_dead), row.id))
        return False

    async def run(self) -> None:
        """Deliver until cancelled, waking on new alerts and when a retry falls due."""
        while True:
            self._wake.clear()
            await self.deliver_due()
            due = self.next_due()
            wait = None if due is None else max(0.0, due - self._clock.now())
            if wait == 0.0:
                continue
            try:
                async with asyncio.timeout(wait):
                    await self._wake.wait()
            except TimeoutError:
                pass

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.run())

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        with self._lock:
            self._db.close()
