"""Alerts and user notices delivered as messages into the store.

``SecurityMailboxSink`` delivers every alert into a configured security mailbox.
``UserNotifier`` tells a user, in their own INBOX, of a sign-in from a new device or network, of
a lockout on their account, and of an app password created or revoked, with what to do if it was
not them. Both reach the store only through the small ``MailDrop`` Protocol that the bootstrap
wires to the store's delivery path.
"""

from __future__ import annotations

import datetime
import email.utils
from collections.abc import Sequence
from email.message import EmailMessage
from typing import Protocol

from mailfort.audit.events import (
    AccountLocked,
    AlertRaised,
    AppPasswordCreated,
    AppPasswordRevoked,
    AuditEvent,
)
from mailfort.audit.settings import NotifySettings

__all__ = ["MailDrop", "SecurityMailboxSink", "UserNotifier", "build_message"]

_NOT_YOU = ("If this was not you, change your password now (and revoke app passwords you do "
            "not recognise), then tell your administrator.")


class MailDrop(Protocol):
    async def deliver(self, user: str, mailbox: str, raw: bytes) -> None: ...


def build_message(*, to: str, subject: str, text: str, at: float, sender: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = email.utils.formatdate(at, localtime=False)
    msg["Message-ID"] = email.utils.make_msgid(domain="mailfort.invalid")
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text)
    return msg.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _when(at: float) -> str:
    return datetime.datetime.fromtimestamp(at, datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


class SecurityMailboxSink:
    def __init__(self, drop: MailDrop, user: str, mailbox: str = "INBOX",
                 sender: str = "Mailfort <mailfort@localhost>") -> None:
        self._drop = drop
        self._user = user
        self._mailbox = mailbox
        self._sender = sender

    @property
    def name(self) -> str:
        return "security_mailbox"

    async def send(self, alert: AlertRaised) -> None:
        lines = [alert.summary, "", f"Kind: {alert.kind}", f"Severity: {alert.severity.value}",
                 f"Time: {_when(alert.at)}"]
        if alert.user:
            lines.append(f"Account: {alert.user}")
        if alert.sources:
            lines.append(f"Sources: {', '.join(alert.sources)}")
        lines += [f"{k}: {v}" for k, v in alert.details]
        if alert.actions:
            lines.append(f"Suggested actions: {', '.join(alert.actions)}")
        subject = f"[mailfort {alert.severity.value}] {alert.kind}: {alert.summary}"[:200]
        raw = build_message(to=self._user, subject=subject, text="\n".join(lines) + "\n",
                            at=alert.at, sender=self._sender)
        await self._drop.deliver(self._user, self._mailbox, raw)


class UserNotifier:
    """A bus subscriber that writes plain-language notices into the user's own INBOX."""

    def __init__(self, drop: MailDrop, settings: NotifySettings,
                 sender: str = "Mailfort <mailfort@localhost>") -> None:
        self._drop = drop
        self._settings = settings
        self._sender = sender
        self.delivered = 0

    @property
    def name(self) -> str:
        return "user_notices"

    def notice(self, event: AuditEvent) -> tuple[str, str, str] | None:
        """(user, subject, text) for events the user should hear about, else None."""
        s = self._settings
        if (isinstance(event, AlertRaised) and s.new_device and event.user
                and "notify_user" in event.actions):
            source = event.sources[0] if event.sources else "an unknown address"
            return (event.user, f"New sign-in to your mailbox from {source} — was this you?",
                    f"Someone signed in to {event.user} at {_when(event.at)} from {source}, "
                    f"a network not seen before on your account.\n\nIf it was you (a new "
                    f"device, travel, a new network), nothing needs doing.\n{_NOT_YOU}\n")
        if isinstance(event, AccountLocked) and s.lockout:
            return (event.user, "Your mailbox was locked after failed sign-ins",
                    f"After {event.failures} failed sign-ins (the last from {event.peer}), "
                    f"sign-ins to {event.user} from new places are paused until "
                    f"{_when(event.until)}. Devices you already use still work.\n{_NOT_YOU}\n")
        if isinstance(event, AppPasswordCreated) and s.app_password_change:
            return (event.user, f"App password '{event.name}' created",
                    f"An app password named '{event.name}' was created for {event.user} at "
                    f"{_when(event.at)}.\n{_NOT_YOU}\n")
        if isinstance(event, AppPasswordRevoked) and s.app_password_change:
            return (event.user, f"App password '{event.name}' revoked",
                    f"The app password named '{event.name}' of {event.user} was revoked at "
                    f"{_when(event.at)}.\n{_NOT_YOU}\n")
        return None

    async def handle(self, events: Sequence[AuditEvent]) -> None:
        for event in events:
            notice = self.notice(event)
            if notice is None:
                continue
            user, subject, text = notice
            raw = build_message(to=user, subject=subject, text=text, at=event.at,
                                sender=self._sender)
            await self._drop.deliver(user, "INBOX", raw)
            self.delivered += 1
