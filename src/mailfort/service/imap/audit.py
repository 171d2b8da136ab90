"""The IMAP service's side of the audit layer: what a session emits, and what the server does
when an alert asks for it.

``AuditHooks`` is what the composition root hands the server (the bus, the clock, the label
store, the metrics, the session controls); ``SessionAudit`` is one connection's view of it. The
emit helpers build events from what a handler already has, never await on the request path
(``AuditSink.emit`` only queues) and never carry message content.

``SessionControls`` is a bus subscriber acting on ``AlertRaised.actions`` that name a session:
``throttle_session`` slows that session's FETCH output to ``throttle_bytes_per_s``,
``end_session`` closes it with BYE. ``force_password_change`` marks the account so the next
login must change the password (through the ``PasswordStates`` the composition root gives).

A FETCH is reported in ``MessagesFetched`` events of at most about ``FETCH_REPORT_BYTES``
each (increments), so detections and alert actions act on a download while it runs.

Canaries: each FETCH looks up, once, the canary UIDs of the mailbox (``CanaryIndex``, a tiny
in-memory set) and ships only the canary UIDs whose body it sent in ``MessagesFetched.uids``;
so any number of messages can be fetched in one command without the event growing, and a
canary is caught wherever it sits in the set.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from mailfort.audit.events import (
    AlertRaised,
    AuditEvent,
    MailboxCreated,
    MailboxDeleted,
    MailboxRenamed,
    MessagesExpunged,
    MessagesFetched,
    MessagesFlaggedDeleted,
    SensitiveFolderAccessed,
    SessionEnded,
)
from mailfort.core.clock import Clock
from mailfort.store.security import PasswordState, PasswordStates
from mailfort.store.types import MailboxId, UserId

__all__ = ["AuditSink", "MailboxLabels", "ServerMetrics", "AuditHooks", "SessionAudit",
           "SessionControl", "SessionControls", "UserIds", "CanaryIndex"]

log = logging.getLogger(__name__)

_MAX_THROTTLE_SLEEP_S: Final = 5.0
# A long FETCH reports what it has sent every this many bytes (``MessagesFetched`` carries the
# increment), so exfiltration is judged, and its alert's action (throttle, end) carried out,
# while the FETCH is still running rather than after it has sent everything.
FETCH_REPORT_BYTES: Final = 1024 * 1024


class AuditSink(Protocol):
    """``audit.bus.AuditBus.emit``: queues, never blocks, never raises."""

    def emit(self, event: AuditEvent) -> None: ...


class MailboxLabels(Protocol):
    """The part of ``store.labels.LabelStore`` a session reads (once per SELECT/EXAMINE)."""

    async def labels_of(self, mailbox_id: MailboxId) -> frozenset[str]: ...


class ServerMetrics(Protocol):
    """``audit.metrics.Metrics`` as the server calls it (cheap counters, no I/O)."""

    def connection_opened(self, protocol: str = "imap") -> None: ...
    def connection_closed(self, protocol: str = "imap") -> None: ...
    def observe_command(self, command: str, seconds: float) -> None: ...


class CanaryIndex(Protocol):
    """The UIDs of canary messages in one mailbox (``audit.detectors.honeytoken
    .HoneytokenDetector.canary_uids``): in memory, cheap, usually empty."""

    def canary_uids(self, user: str, mailbox: str) -> frozenset[int]: ...


class UserIds(Protocol):
    """Resolves an account name (``store.api.Users.get``), for ``force_password_change``."""

    async def user_id(self, name: str) -> UserId | None: ...


class SessionControl:
    """What alerts may do to one live session."""

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        self.throttle_bytes_per_s: int | None = None
        self.is_ended = False
        self.on_end: Callable[[], None] | None = None  # set by the driver

    def end(self) -> None:
        if self.is_ended:
            return
        self.is_ended = True
        if self.on_end is not None:
            self.on_end()


class SessionControls:
    """Live sessions by id; a bus subscriber that carries out alert actions."""

    def __init__(self, *, throttle_bytes_per_s: int = 256 * 1024,
                 password_states: PasswordStates | None = None,
                 users: UserIds | None = None) -> None:
        self._sessions: dict[str, SessionControl] = {}
        self._throttle = throttle_bytes_per_s
        self._password_states = password_states
        self._users = users
        self.actions_taken: list[tuple[str, str]] = []  # (action, session id or user)

    @property
    def name(self) -> str:
        return "alert_actions"

    def register(self, session_id: str) -> SessionControl:
        control = SessionControl(session_id)
        self._sessions[session_id] = control
        return control

    def unregister(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    def get(self, session_id: str) -> SessionControl | None:
        return self._sessions.get(session_id)

    async def handle(self, events: Sequence[AuditEvent]) -> None:
        for event in events:
            if isinstance(event, AlertRaised) and event.actions:
                await self.apply(event)

    async def apply(self, alert: AlertRaised) -> None:
        control = self._sessions.get(alert.session_id) if alert.session_id else None
        for action in alert.actions:
            if action == "throttle_session" and control is not None:
                control.throttle_bytes_per_s = self._throttle
                self.actions_taken.append((action, control.session_id))
                log.warning("session throttled after a %s alert", alert.kind)
            elif action == "end_session" and control is not None:
                self.actions_taken.append((action, control.session_id))
                log.warning("session ended after a %s alert", alert.kind)
                control.end()
            elif action == "force_password_change" and alert.user:
                await self._force_password_change(alert.user)

    async def _force_password_change(self, user: str) -> None:
        if self._password_states is None or self._users is None:
            return
        user_id = await self._users.user_id(user)
        if user_id is None:
            return
        state = await self._password_states.get(user_id)
        changed_at = state.changed_at if state is not None else None
        await self._password_states.put(PasswordState(user_id, changed_at, True))
        self.actions_taken.append(("force_password_change", user))
        log.warning("password change forced after an alert")


@dataclass(frozen=True, slots=True)
class AuditHooks:
    """What the server's sessions need of the audit layer (built by ``cli.bootstrap``)."""

    sink: AuditSink
    clock: Clock
    labels: MailboxLabels | None = None
    metrics: ServerMetrics | None = None
    controls: SessionControls | None = None
    sensitive_label: str = "sensitive"
    record_subjects: bool = False
    canaries: CanaryIndex | None = None


@dataclass(slots=True)
class _Selection:
    mailbox_id: MailboxId
    name: str
    is_sensitive: bool
    reported: set[str] = field(default_factory=set)


@dataclass(slots=True)
class _Fetch:
    user: str
    mailbox: str
    canaries: frozenset[int] = frozenset()  # this mailbox's canary UIDs
    count: int = 0
    bytes: int = 0
    uids: list[int] = field(default_factory=list)  # canaries whose body was sent


class SessionAudit:
    """One connection's audit view: its id, its counters, its emit helpers."""

    def __init__(self, hooks: AuditHooks | None, peer: str) -> None:
        self.hooks = hooks
        self.peer = peer
        self.session_id = secrets.token_hex(8)
        self.messages_fetched = 0
        self.bytes_fetched = 0
        self.control = (hooks.controls.register(self.session_id)
                        if hooks is not None and hooks.controls is not None
                        else SessionControl(self.session_id))
        self._selection: _Selection | None = None
        self._fetch: _Fetch | None = None

    @property
    def is_on(self) -> bool:
        return self.hooks is not None

    def now(self) -> float:
        return self.hooks.clock.now() if self.hooks is not None else 0.0

    def emit(self, event: AuditEvent) -> None:
        if self.hooks is not None:
            self.hooks.sink.emit(event)

    def observe_command(self, verb: str, seconds: float) -> None:
        if self.hooks is not None and self.hooks.metrics is not None:
            self.hooks.metrics.observe_command(verb, seconds)

    # ---- selection and sensitive folders ---------------------------------------------------
    async def selected(self, user: str, mailbox_id: MailboxId, name: str,
                       *, is_readonly: bool) -> None:
        """SELECT/EXAMINE succeeded: learn (one read) whether the mailbox is sensitive."""
        if self.hooks is None:
            return
        labels = self.hooks.labels
        is_sensitive = (labels is not None
                        and self.hooks.sensitive_label in await labels.labels_of(mailbox_id))
        self._selection = _Selection(mailbox_id, name, is_sensitive)
        self.accessed(user, "examine" if is_readonly else "select")

    def deselected(self) -> None:
        self._selection = None

    def accessed(self, user: str, action: str) -> None:
        """``action`` on the selected mailbox; reported once per selection and action."""
        sel = self._selection
        if sel is None or not sel.is_sensitive or action in sel.reported:
            return
        sel.reported.add(action)
        self.emit(SensitiveFolderAccessed(
            at=self.now(), user=user, peer=self.peer, session_id=self.session_id, owner=user,
            mailbox=sel.name, action=action))

    # ---- data access and changes ----------------------------------------------------------
    def fetch_started(self, user: str, mailbox: str) -> None:
        index = self.hooks.canaries if self.hooks is not None else None
        canaries = index.canary_uids(user, mailbox) if index is not None else frozenset()
        self._fetch = _Fetch(user, mailbox, canaries)

    def fetch_progress(self, uid: int, nbytes: int, sends_body: bool) -> None:
        """One FETCH response line was produced (cheap: counters only)."""
        f = self._fetch
        if f is not None:
            f.count += 1
            f.bytes += nbytes
            if sends_body and uid in f.canaries:
                f.uids.append(uid)
            if f.bytes >= FETCH_REPORT_BYTES:
                self._report(f)

    def _report(self, f: _Fetch) -> None:
        """Emit what ``f`` sent since its last report (counts are increments)."""
        if not f.count:
            return
        self.messages_fetched += f.count
        self.bytes_fetched += f.bytes
        self.emit(MessagesFetched(at=self.now(), user=f.user, peer=self.peer,
                                  session_id=self.session_id, mailbox=f.mailbox, count=f.count,
                                  bytes=f.bytes, uids=tuple(f.uids)))
        f.count, f.bytes, f.uids = 0, 0, []
        self.accessed(f.user, "fetch")

    def fetch_done(self) -> None:
        """The FETCH command ended (or the connection did, mid-FETCH): its last report."""
        f, self._fetch = self._fetch, None
        if f is not None:
            self._report(f)

    async def pace(self, nbytes: int) -> None:
        """After writing ``nbytes`` of FETCH output: wait as a throttled session must."""
        rate = self.control.throttle_bytes_per_s
        if rate:
            await asyncio.sleep(min(_MAX_THROTTLE_SLEEP_S, nbytes / rate))

    def expunged(self, user: str, mailbox: str, count: int) -> None:
        if count:
            self.emit(MessagesExpunged(at=self.now(), user=user, peer=self.peer,
                                       session_id=self.session_id, mailbox=mailbox,
                                       count=count))

    def flagged_deleted(self, user: str, mailbox: str, count: int) -> None:
        if count:
            self.emit(MessagesFlaggedDeleted(at=self.now(), user=user, peer=self.peer,
                                             session_id=self.session_id, mailbox=mailbox,
                                             count=count))

    def mailbox_created(self, user: str, mailbox: str) -> None:
        self.emit(MailboxCreated(at=self.now(), user=user, peer=self.peer,
                                 session_id=self.session_id, mailbox=mailbox))

    def mailbox_deleted(self, user: str, mailbox: str, messages: int) -> None:
        self.emit(MailboxDeleted(at=self.now(), user=user, peer=self.peer,
                                 session_id=self.session_id, mailbox=mailbox,
                                 messages=messages))

    def mailbox_renamed(self, user: str, old: str, new: str) -> None:
        self.emit(MailboxRenamed(at=self.now(), user=user, peer=self.peer,
                                 session_id=self.session_id, old_name=old, new_name=new))

    def ended(self, user: str | None, duration_s: float, bytes_in: int, bytes_out: int) -> None:
        """The connection closed (the driver calls this once)."""
        self.fetch_done()
        if self.hooks is not None and self.hooks.controls is not None:
            self.hooks.controls.unregister(self.session_id)
        self.emit(SessionEnded(at=self.now(), user=user, peer=self.peer,
                               session_id=self.session_id, duration_s=round(duration_s, 3),
                               bytes_in=bytes_in, bytes_out=bytes_out,
                               messages_fetched=self.messages_fetched))
