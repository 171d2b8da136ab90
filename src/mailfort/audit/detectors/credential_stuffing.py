"""Credential stuffing: one source failing on many distinct accounts (a leaked list being tried).

Fires when ``stuffing_accounts`` distinct accounts fail from one source within
``stuffing_window_s``, and relays the guard's ``CredentialStuffingDetected``.
"""

from __future__ import annotations

from mailfort.audit.chain import JsonValue
from mailfort.audit.detectors.engine import Cooldown
from mailfort.audit.events import (
    AlertRaised,
    AlertSeverity,
    AuditEvent,
    CredentialStuffingDetected,
    LoginFailed,
    LoginFailureReason,
)
from mailfort.audit.settings import DetectorSettings
from mailfort.core.clock import Clock

__all__ = ["CredentialStuffingDetector"]


class CredentialStuffingDetector:
    def __init__(self, settings: DetectorSettings, clock: Clock) -> None:
        self._threshold = settings.stuffing_accounts
        self._window = float(settings.stuffing_window_s)
        self._clock = clock
        self._seen: dict[str, dict[str, float]] = {}  # source -> account -> last failure
        self._cooldown = Cooldown(self._window)

    @property
    def name(self) -> str:
        return "credential_stuffing"

    def observe(self, event: AuditEvent) -> list[AlertRaised]:
        if isinstance(event, CredentialStuffingDetected):
            if self._cooldown.ready(event.source, event.at):
                return [self._alert(event.at, event.source, event.distinct_accounts, ())]
            return []
        if not isinstance(event, LoginFailed) or event.reason is LoginFailureReason.STALE_REPEAT:
            return []
        cutoff = event.at - self._window
        accounts = self._seen.setdefault(event.peer, {})
        accounts[event.user] = event.at
        for name in [n for n, t in accounts.items() if t < cutoff]:
            del accounts[name]
        if len(accounts) > self._threshold * 10:
            oldest = min(accounts, key=lambda n: accounts[n])
            del accounts[oldest]
        if len(self._seen) > 50_000:
            self._seen = {s: a for s, a in self._seen.items()
                          if a and max(a.values()) >= cutoff}
        if len(accounts) >= self._threshold and self._cooldown.ready(event.peer, event.at):
            return [self._alert(event.at, event.peer, len(accounts), sorted(accounts)[:10])]
        return []

    def _alert(self, at: float, source: str, n: int, names: list[str] | tuple[str, ...]
               ) -> AlertRaised:
        return AlertRaised(at=at, kind=self.name, severity=AlertSeverity.HIGH, sources=(source,),
                           summary=f"{source} failed logins on {n} different accounts",
                           details=(("accounts", str(n)), ("sample", ",".join(names))))

    def snapshot(self) -> JsonValue:
        seen: dict[str, JsonValue] = {s: {u: t for u, t in a.items()}
                                      for s, a in self._seen.items()}
        return {"seen": seen, "cooldown": self._cooldown.snapshot()}

    def restore(self, state: JsonValue) -> None:
        if not isinstance(state, dict):
            return
        seen = state.get("seen")
        if isinstance(seen, dict):
            for source, accounts in seen.items():
                if isinstance(accounts, dict):
                    self._seen[source] = {u: float(t) for u, t in accounts.items()
                                          if isinstance(t, (int, float))}
        self._cooldown.restore(state.get("cooldown"))
