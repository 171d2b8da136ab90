"""Mass deletion: more than N messages expunged (or flagged \\Deleted, or gone with a deleted
mailbox) by one user within M minutes. Expunges and \\Deleted flags are counted apart, so
flagging and then expunging the same messages does not count them twice."""

from __future__ import annotations

from collections import deque

from mailfort.audit.chain import JsonValue
from mailfort.audit.detectors.engine import Cooldown
from mailfort.audit.events import (
    AlertRaised,
    AlertSeverity,
    AuditEvent,
    MailboxDeleted,
    MessagesExpunged,
    MessagesFlaggedDeleted,
)
from mailfort.audit.settings import DetectorSettings
from mailfort.core.clock import Clock

__all__ = ["MassDeletionDetector"]


class MassDeletionDetector:
    def __init__(self, settings: DetectorSettings, clock: Clock) -> None:
        self._limit = settings.mass_deletion_messages
        self._window = float(settings.mass_deletion_window_s)
        self._clock = clock
        self._counts: dict[str, deque[tuple[float, int]]] = {}  # "flag:user"/"gone:user"
        self._cooldown = Cooldown(self._window)

    @property
    def name(self) -> str:
        return "mass_deletion"

    def observe(self, event: AuditEvent) -> list[AlertRaised]:
        if isinstance(event, MessagesFlaggedDeleted):
            flow, count = "flag", event.count
        elif isinstance(event, MessagesExpunged):
            flow, count = "gone", event.count
        elif isinstance(event, MailboxDeleted):
            flow, count = "gone", event.messages
        else:
            return []
        if count <= 0:
            return []
        q = self._counts.setdefault(f"{flow}:{event.user}", deque())
        q.append((event.at, count))
        while q and q[0][0] < event.at - self._window:
            q.popleft()
        total = sum(c for _, c in q)
        if total > self._limit and self._cooldown.ready(event.user, event.at):
            what = "flagged \\Deleted" if flow == "flag" else "deleted"
            return [AlertRaised(
                at=event.at, kind=self.name, severity=AlertSeverity.HIGH, user=event.user,
                sources=(event.peer,), session_id=event.session_id,
                summary=f"{event.user} {what} {total} messages within "
                        f"{int(self._window // 60)} minutes",
                details=(("messages", str(total)),))]
        return []

    def snapshot(self) -> JsonValue:
        return {"counts": {k: [[t, c] for t, c in q] for k, q in self._counts.items() if q},
                "cooldown": self._cooldown.snapshot()}

    def restore(self, state: JsonValue) -> None:
        if not isinstance(state, dict):
            return
        counts = state.get("counts")
        if isinstance(counts, dict):
            for k, items in counts.items():
                if isinstance(items, list):
                    self._counts[k] = deque((float(str(i[0])), int(str(i[1]))) for i in items
                                            if isinstance(i, list) and len(i) == 2)
        self._cooldown.restore(state.get("cooldown"))
