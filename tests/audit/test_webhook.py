"""Webhook delivery to a real HTTP receiver on 127.0.0.1: signed, retried, survives a restart."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import queue
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from audit_fakes import FakeClock

from mailfort.audit.events import AlertRaised, AlertSeverity
from mailfort.audit.sinks.webhook import WebhookSink
from mailfort.core.clock import SystemClock
from mailfort.core.secret import Secret

SECRET = b"test-webhook-secret"


@dataclass
class Receiver:
    url: str
    statuses: list[int]  # answered in order; then 200
    got: queue.Queue[tuple[dict[str, str], bytes]] = field(default_factory=queue.Queue)

    def next(self, timeout_s: float = 10.0) -> tuple[dict[str, str], bytes]:
        return self.got.get(timeout=timeout_s)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver("", [])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = rec.statuses.pop(0) if rec.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()
            rec.got.put(({k.lower(): v for k, v in self.headers.items()}, body))

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield rec
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _alert() -> AlertRaised:
    return AlertRaised(at=1_700_000_000.0, kind="brute_force", severity=AlertSeverity.HIGH,
                       summary="25 failed logins from 203.0.113.66", sources=("203.0.113.66",),
                       details=(("failures", "25"),))


def _check_signature(headers: dict[str, str], body: bytes) -> None:
    expected = "sha256=" + hmac.new(SECRET, headers["x-mailfort-timestamp"].encode() + b"."
                                    + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-mailfort-signature"], expected)
    assert headers["content-type"] == "application/json"


def test_delivery_is_signed_and_retried_with_backoff(tmp_path: Path, receiver: Receiver) -> None:
    receiver.statuses = [503, 500]

    async def scenario() -> tuple[int, int]:
        sink = WebhookSink(receiver.url, Secret(SECRET), tmp_path / "q.db", SystemClock(),
                           backoff_initial_s=0.05, backoff_max_s=0.2)
        sink.start()
        await sink.send(_alert())
        seen = [await asyncio.to_thread(receiver.next) for _ in range(3)]
        ids = {h["x-mailfort-delivery"] for h, _ in seen}
        for headers, body in seen:
            _check_signature(headers, body)
        doc = json.loads(seen[-1][1])
        assert doc["kind"] == "brute_force" and doc["sources"] == ["203.0.113.66"]
        assert doc["details"] == {"failures": "25"}
        assert await sink.wait_drained(10)
        await sink.aclose()
        return len(ids), sink.delivered

    assert asyncio.run(scenario()) == (1, 1)  # one delivery id on every retry


def test_queue_survives_a_restart(tmp_path: Path, receiver: Receiver) -> None:
    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{s.getsockname()[1]}/hook"
    clock = FakeClock()

    async def before() -> None:
        sink = WebhookSink(dead_url, Secret(SECRET), tmp_path / "q.db", clock,
                           backoff_initial_s=30)
        await sink.send(_alert())
        assert await sink.deliver_due() == 0
        assert sink.pending() == 1
        clock.advance(10)
        assert await sink.deliver_due() == 0  # not due yet: no second attempt
        await sink.aclose()

    async def after() -> None:
        sink = WebhookSink(receiver.url, Secret(SECRET), tmp_path / "q.db", clock)
        assert sink.pending() == 1
        clock.advance(30)
        assert await sink.deliver_due() == 1
        assert sink.pending() == 0
        await sink.aclose()

    asyncio.run(before())
    assert receiver.got.empty()
    asyncio.run(after())
    headers, body = receiver.next()
    _check_signature(headers, body)
    assert json.loads(body)["summary"] == "25 failed logins from 203.0.113.66"


def test_gives_up_after_max_attempts(tmp_path: Path, receiver: Receiver) -> None:
    receiver.statuses = [500, 500, 500]
    clock = FakeClock()

    async def scenario() -> None:
        sink = WebhookSink(receiver.url, Secret(SECRET), tmp_path / "q.db", clock,
                           max_attempts=3, backoff_initial_s=1)
        await sink.send(_alert())
        for _ in range(3):
            await sink.deliver_due()
            clock.advance(100)
        assert (sink.pending(), sink.dead()) == (0, 1)
        await sink.aclose()

    asyncio.run(scenario())
    assert receiver.got.qsize() == 3
