"""The detector seam and the engine that runs detectors over the event stream.

A detector is pure logic over events: ``observe(event)`` returns the alerts that event raises.
Windows are measured in event time (``event.at``); the injected clock is used only to forget
stale state. State is plain JSON (``snapshot``/``restore``) so it survives a restart.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from mailfort.audit.chain import JsonValue
from mailfort.audit.events import AlertRaised, AuditEvent

__all__ = ["Detector", "DetectionEngine", "Cooldown"]

log = logging.getLogger(__name__)


class Detector(Protocol):
    @property
    def name(self) -> str: ...

    def observe(self, event: AuditEvent) -> list[AlertRaised]: ...

    def snapshot(self) -> JsonValue: ...

    def restore(self, state: JsonValue) -> None: ...


class Cooldown:
    """Remembers when an alert key last fired, so one attack raises one alert per window."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._last: dict[str, float] = {}

    def ready(self, key: str, at: float) -> bool:
        last = self._last.get(key)
        if last is not None and at - last < self.window_s:
            return False
        self._last[key] = at
        if len(self._last) > 10_000:
            cutoff = at - self.window_s
            self._last = {k: v for k, v in self._last.items() if v >= cutoff}
        return True

    def snapshot(self) -> JsonValue:
        return {k: v for k, v in self._last.items()}

    def restore(self, state: JsonValue) -> None:
        if isinstance(state, dict):
            self._last = {k: float(v) for k, v in state.items() if isinstance(v, (int, float))}


class DetectionEngine:
    """Runs every detector on every event (alerts excepted) and emits the alerts they raise.

    As a bus subscriber, raised alerts go back to the bus through ``emit`` so that they are
    chained, counted and routed to the alert sinks like any other event."""

    def __init__(self, detectors: Sequence[Detector],
                 emit: Callable[[AuditEvent], None] | None = None) -> None:
        self._detectors = list(detectors)
        self._emit = emit
        self.failures = 0

    @property
    def name(self) -> str:
        return "detectors"

    def observe(self, event: AuditEvent) -> list[AlertRaised]:
        if isinstance(event, AlertRaised):
            return []
        alerts: list[AlertRaised] = []
        for detector in self._detectors:
            try:
                alerts.extend(detector.observe(event))
            except Exception as exc:  # noqa: BLE001 - one faulty detector must not stop the rest
                self.failures += 1
                log.warning("detector %s failed: %s", detector.name, type(exc).__name__)
        return alerts

    async def handle(self, events: Sequence[AuditEvent]) -> None:
        for event in events:
            for alert in self.observe(event):
                if self._emit is not None:
                    self._emit(alert)

    def snapshot(self) -> dict[str, JsonValue]:
        return {d.name: d.snapshot() for d in self._detectors}

    def restore(self, state: dict[str, JsonValue]) -> None:
        for d in self._detectors:
            if d.name in state:
                d.restore(state[d.name])

    def save(self, path: Path) -> None:
        """Write the detectors' state atomically (temp file, fsync, rename)."""
        tmp = path.with_name(path.name + ".tmp")
        data = json.dumps(self.snapshot(), separators=(",", ":")).encode()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    def load(self, path: Path) -> bool:
        """Restore state saved by ``save``; False when there is none (or it is unreadable)."""
        try:
            state = json.loads(path.read_bytes())
        except (OSError, ValueError):
            return False
        if not isinstance(state, dict):
            return False
        self.restore(state)
        return True
