"""Sensitive folders: any access to a mailbox an admin labelled sensitive
(``mailfort label set USER/MAILBOX sensitive``). The service emits SensitiveFolderAccessed; this
raises one alert per session and mailbox."""

from __future__ import annotations

from mailfort.audit.chain import JsonValue
from mailfort.audit.detectors.engine import Cooldown
from mailfort.audit.events import AlertRaised, AlertSeverity, AuditEvent, SensitiveFolderAccessed
from mailfort.audit.settings import DetectorSettings
from mailfort.core.clock import Clock

__all__ = ["SensitiveFolderDetector"]


class SensitiveFolderDetector:
    def __init__(self, settings: DetectorSettings, clock: Clock) -> None:
        self._clock = clock
        self._cooldown = Cooldown(12 * 3600)

    @property
    def name(self) -> str:
        return "sensitive_folder"

    def observe(self, event: AuditEvent) -> list[AlertRaised]:
        if not isinstance(event, SensitiveFolderAccessed):
            return []
        key = f"{event.session_id}\0{event.owner}\0{event.mailbox}"
        if not self._cooldown.ready(key, event.at):
            return []
        whose = "their own" if event.owner == event.user else f"{event.owner}'s"
        return [AlertRaised(
            at=event.at, kind=self.name, severity=AlertSeverity.MEDIUM, user=event.user,
            sources=(event.peer,), session_id=event.session_id,
            summary=f"{event.user} opened {whose} sensitive folder {event.mailbox} "
                    f"({event.action})",
            details=(("owner", event.owner), ("mailbox", event.mailbox),
                     ("action", event.action)))]

    def snapshot(self) -> JsonValue:
        return {"cooldown": self._cooldown.snapshot()}

    def restore(self, state: JsonValue) -> None:
        if isinstance(state, dict):
            self._cooldown.restore(state.get("cooldown"))
