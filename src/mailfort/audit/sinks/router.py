"""Routes alerts to sinks with deduplication and rate limiting, so an attack produces a handful
of alerts rather than thousands.

- Deduplication: the same (kind, user, sources) is sent at most once per ``dedup_window_s``
  (in alert time).
- Rate limiting: at most ``per_minute`` alerts per minute (token bucket on the monotonic clock);
  critical alerts (honeytokens) always pass.
- Isolation: each sink's ``send`` is bounded by ``send_timeout_s``; a failing sink is counted and
  skipped, never retried here (the webhook keeps its own persisted queue).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Protocol

from mailfort.audit.events import AlertRaised, AlertSeverity, AuditEvent
from mailfort.core.clock import Clock

__all__ = ["AlertSink", "AlertRouter"]

log = logging.getLogger(__name__)


class AlertSink(Protocol):
    @property
    def name(self) -> str: ...

    async def send(self, alert: AlertRaised) -> None: ...


class AlertRouter:
    """A bus subscriber: takes the AlertRaised events off the stream and sends them on."""

    def __init__(self, sinks: Sequence[AlertSink], clock: Clock, *, dedup_window_s: float = 900,
                 per_minute: int = 30, send_timeout_s: float = 5.0) -> None:
        self._sinks = list(sinks)
        self._clock = clock
        self._dedup_window_s = dedup_window_s
        self._per_minute = per_minute
        self._send_timeout_s = send_timeout_s
        self._last_sent: dict[tuple[str, str, tuple[str, ...]], float] = {}
        self._tokens = float(per_minute)
        self._refilled = clock.monotonic()
        self.sent = 0
        self.duplicates = 0
        self.rate_limited = 0
        self.failures: dict[str, int] = {}

    @property
    def name(self) -> str:
        return "alerts"

    def admit(self, alert: AlertRaised) -> bool:
        """Whether this alert should go out now (records it as sent if so)."""
        key = (alert.kind, alert.user or "", alert.sources)
        last = self._last_sent.get(key)
        if last is not None and alert.at - last < self._dedup_window_s:
            self.duplicates += 1
            return False
        now = self._clock.monotonic()
        self._tokens = min(float(self._per_minute),
                           self._tokens + (now - self._refilled) * self._per_minute / 60.0)
        self._refilled = now
        if alert.severity is not AlertSeverity.CRITICAL:
            if self._tokens < 1.0:
                self.rate_limited += 1
                return False
            self._tokens -= 1.0
        self._last_sent[key] = alert.at
        if len(self._last_sent) > 10_000:
            cutoff = alert.at - self._dedup_window_s
            self._last_sent = {k: t for k, t in self._last_sent.items() if t >= cutoff}
        return True

    async def handle(self, events: Sequence[AuditEvent]) -> None:
        for event in events:
            if isinstance(event, AlertRaised) and self.admit(event):
                self.sent += 1
                for sink in self._sinks:
                    await self._send(sink, event)

    async def _send(self, sink: AlertSink, alert: AlertRaised) -> None:
        try:
            async with asyncio.timeout(self._send_timeout_s):
                await sink.send(alert)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - one sink never blocks the others
            self.failures[sink.name] = self.failures.get(sink.name, 0) + 1
            log.warning("alert sink %s failed: %s", sink.name, type(exc).__name__)
