"""Permission changes on shared mailboxes, admin actions and configuration reloads: each one is
worth a human's glance, so each raises an alert (no learning, no threshold)."""

from __future__ import annotations

from mailfort.audit.chain import JsonValue
from mailfort.audit.events import (
    AdminAction,
    AlertRaised,
    AlertSeverity,
    AuditEvent,
    ConfigReloaded,
    PermissionChanged,
)
from mailfort.audit.settings import DetectorSettings
from mailfort.core.clock import Clock

__all__ = ["PermissionChangeDetector"]


class PermissionChangeDetector:
    def __init__(self, settings: DetectorSettings, clock: Clock) -> None:
        self._clock = clock

    @property
    def name(self) -> str:
        return "permission_change"

    def observe(self, event: AuditEvent) -> list[AlertRaised]:
        if isinstance(event, PermissionChanged):
            granted = f"rights '{event.rights}'" if event.rights else "no rights"
            return [AlertRaised(
                at=event.at, kind="permission_change", severity=AlertSeverity.MEDIUM,
                user=event.user, sources=(event.peer,), session_id=event.session_id,
                summary=f"{event.user} gave {event.grantee} {granted} on "
                        f"{event.owner}/{event.mailbox}",
                details=(("owner", event.owner), ("mailbox", event.mailbox),
                         ("grantee", event.grantee), ("rights", event.rights)))]
        if isinstance(event, AdminAction):
            return [AlertRaised(
                at=event.at, kind="admin_action", severity=AlertSeverity.LOW, user=event.user,
                sources=(event.peer,),
                summary=f"admin {event.user}: {event.action} {event.target}",
                details=(("action", event.action), ("target", event.target)))]
        if isinstance(event, ConfigReloaded):
            return [AlertRaised(
                at=event.at, kind="config_reload", severity=AlertSeverity.LOW, user=event.user,
                summary=f"configuration reloaded by {event.user}: "
                        f"{', '.join(event.changed_keys) or 'no changes'}",
                details=(("changed", ",".join(event.changed_keys)),))]
        return []

    def snapshot(self) -> JsonValue:
        return None

    def restore(self, state: JsonValue) -> None:
        return None
