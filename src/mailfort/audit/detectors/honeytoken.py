"""Honeytokens: decoy accounts, decoy app passwords and canary messages.

Any login attempt on a decoy account, any use of a decoy app password, and any FETCH of a
canary message's body is a critical alert naming the source: nobody legitimate has a reason to
touch them. The registry is part of the detector's persisted state (``mailfort honeytoken add``
writes it); nothing on the wire distinguishes a decoy from a real account.
"""

from __future__ import annotations

from mailfort.audit.chain import JsonValue
from mailfort.audit.events import (
    AlertRaised,
    AlertSeverity,
    AppPasswordUsed,
    AuditEvent,
    LoginDelayed,
    LoginFailed,
    LoginRefused,
    LoginSucceeded,
    MessagesFetched,
)
from mailfort.audit.settings import DetectorSettings
from mailfort.core.clock import Clock

__all__ = ["HoneytokenDetector"]


class HoneytokenDetector:
    def __init__(self, settings: DetectorSettings, clock: Clock) -> None:
        self._clock = clock
        self._users: set[str] = set()
        self._app_passwords: set[tuple[str, str]] = set()
        self._canaries: set[tuple[str, str, int]] = set()
        self._canary_index: dict[tuple[str, str], frozenset[int]] = {}

    @property
    def name(self) -> str:
        return "honeytoken"

    def add_decoy_user(self, user: str) -> None:
        self._users.add(user)

    def add_decoy_app_password(self, user: str, name: str) -> None:
        self._app_passwords.add((user, name))

    def add_canary(self, user: str, mailbox: str, uid: int) -> None:
        self._canaries.add((user, mailbox, uid))
        key = (user, mailbox)
        self._canary_index[key] = self._canary_index.get(key, frozenset()) | {uid}

    def canary_uids(self, user: str, mailbox: str) -> frozenset[int]:
        """The canary UIDs in ``user``'s ``mailbox`` (what a session checks each FETCH
        against, so that only canaries travel in ``MessagesFetched.uids``)."""
        return self._canary_index.get((user, mailbox), frozenset())

    def observe(self, event: AuditEvent) -> list[AlertRaised]:
        if isinstance(event, (LoginSucceeded, LoginFailed, LoginDelayed, LoginRefused)):
            if event.user in self._users:
                outcome = "succeeded" if isinstance(event, LoginSucceeded) else "attempted"
                return [self._alert(event.at, event.user, event.peer, None,
                                    f"login to decoy account {event.user} {outcome} from "
                                    f"{event.peer}", "decoy_account")]
        elif isinstance(event, AppPasswordUsed):
            if (event.user, event.name) in self._app_passwords:
                return [self._alert(event.at, event.user, event.peer, None,
                                    f"decoy app password '{event.name}' of {event.user} used "
                                    f"from {event.peer}", "decoy_app_password")]
        elif isinstance(event, MessagesFetched) and self._canaries:
            hits = [u for u in event.uids if (event.user, event.mailbox, u) in self._canaries]
            if hits:
                return [self._alert(event.at, event.user, event.peer, event.session_id,
                                    f"canary message {event.mailbox} UID {hits[0]} of "
                                    f"{event.user} read from {event.peer}", "canary_message")]
        return []

    def _alert(self, at: float, user: str, peer: str, session_id: str | None, summary: str,
               token: str) -> AlertRaised:
        return AlertRaised(at=at, kind=self.name, severity=AlertSeverity.CRITICAL, user=user,
                           sources=(peer,), session_id=session_id, summary=summary,
                           details=(("token", token),))

    def snapshot(self) -> JsonValue:
        users: list[JsonValue] = [u for u in sorted(self._users)]
        aps: list[JsonValue] = [[u, n] for u, n in sorted(self._app_passwords)]
        cans: list[JsonValue] = [[u, m, i] for u, m, i in sorted(self._canaries)]
        return {"users": users, "app_passwords": aps, "canaries": cans}

    def restore(self, state: JsonValue) -> None:
        if not isinstance(state, dict):
            return
        users = state.get("users")
        if isinstance(users, list):
            self._users = {u for u in users if isinstance(u, str)}
        aps = state.get("app_passwords")
        if isinstance(aps, list):
            self._app_passwords = {(str(a[0]), str(a[1])) for a in aps
                                   if isinstance(a, list) and len(a) == 2}
        cans = state.get("canaries")
        if isinstance(cans, list):
            self._canaries = set()
            self._canary_index = {}
            for c in cans:
                if isinstance(c, list) and len(c) == 3:
                    self.add_canary(str(c[0]), str(c[1]), int(str(c[2])))
