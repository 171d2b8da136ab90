"""``mailfort audit verify|search|export|keygen|prune``: the tamper-evident audit log."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from mailfort.audit.chain import (
    AuditChain,
    check_key_outside,
    generate_signing_key,
    load_signing_key,
    load_verify_key,
    public_key_path,
)
from mailfort.audit.events import AdminAction, AuditEvent
from mailfort.audit.report import parse_when
from mailfort.audit.settings import AuditSettings
from mailfort.cli.settings import settings_from_args
from mailfort.config.model import Settings
from mailfort.core.clock import SystemClock
from mailfort.core.errors import UsageError
from mailfort.store.api import MailStore

__all__ = ["add_parser", "run", "audit_paths", "record_admin_action", "record_events",
           "CliEvents"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("audit", help="verify, search and export the audit log",
                       description="The tamper-evident audit log: hash-chained records with "
                                   "signed checkpoints.")
    p.add_argument("--db", metavar="PATH", help="the audit database (default: DATA/audit.db)")
    p.add_argument("--key", metavar="PATH",
                   help="the signing key (its public half KEY.pub suffices for verify); "
                        "default: [audit] signing_key_file")
    acts = p.add_subparsers(dest="audit_command", metavar="ACTION")
    acts.required = True
    acts.add_parser("verify", help="check the chain and signatures",
                    description="Exit 0 when the log is intact; 1 naming the first altered, "
                                "deleted, inserted, reordered or truncated record.")
    for name, text in (("search", "print matching records"),
                       ("export", "write matching records as JSON lines")):
        q = acts.add_parser(name, help=text, description=text.capitalize() + ".")
        q.add_argument("--user")
        q.add_argument("--ip", help="source address")
        q.add_argument("--type", action="append", default=[], metavar="EVENT",
                       help="event type, e.g. LoginFailed (repeatable)")
        q.add_argument("--since", help="e.g. 24h, 7d or 2024-05-01T08:00 (UTC)")
        q.add_argument("--until")
        q.add_argument("--limit", type=int)
        if name == "export":
            q.add_argument("-o", "--output", metavar="FILE", help="default: standard output")
    acts.add_parser("keygen", help="create the Ed25519 signing key (outside the data directory)",
                    description="Create the checkpoint signing key and KEY.pub beside it.")
    pr = acts.add_parser("prune", help="remove records older than the retention period",
                         description="Remove records up to a signed checkpoint; the rest of "
                                     "the chain stays verifiable.")
    pr.add_argument("--older-than", metavar="AGE",
                    help="e.g. 365d (default: [audit] retention_days)")


def _audit_settings(settings: Settings) -> AuditSettings:
    return settings.audit


def audit_paths(settings: Settings, args: argparse.Namespace) -> tuple[Path, Path]:
    """(database, signing key) for this call."""
    audit = _audit_settings(settings)
    db = Path(args.db) if getattr(args, "db", None) else settings.data_dir / audit.db_file
    key = Path(args.key) if getattr(args, "key", None) else settings.path(audit.signing_key_file)
    return db, key


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    db, key = audit_paths(settings, args)
    action = args.audit_command
    clock = SystemClock()
    if action == "keygen":
        check_key_outside(key, settings.data_dir)
        pub = generate_signing_key(key)
        print(f"signing key: {key} (keep it private; mode 0600)\npublic key: {pub}")
        return 0
    if action != "prune" and not db.is_file():
        raise UsageError(f"no audit log at {db}")
    if action == "verify":
        has_key = key.is_file() or public_key_path(key).is_file()
        chain = AuditChain(db, clock)
        try:
            report = chain.verify(load_verify_key(key) if has_key else None)
        finally:
            chain.close()
        print(report.describe())
        return 0 if report.is_ok else 1
    if action == "prune":
        audit = _audit_settings(settings)
        age = args.older_than or f"{audit.retention_days}d"
        check_key_outside(key, settings.data_dir)
        chain = AuditChain(db, clock, signer=load_signing_key(key))
        try:
            removed = chain.prune(parse_when(age, clock.now()))
        finally:
            chain.close()
        print(f"removed {removed} records")
        return 0
    now = time.time()
    chain = AuditChain(db, clock)
    try:
        records = chain.search(user=args.user, peer=args.ip, types=args.type,
                               since=parse_when(args.since, now) if args.since else None,
                               until=parse_when(args.until, now) if args.until else None,
                               limit=args.limit)
    finally:
        chain.close()
    if action == "export":
        out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
        try:
            for rec in records:
                out.write(rec.to_json() + "\n")
        finally:
            if out is not sys.stdout:
                out.close()
        return 0
    for rec in records:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(rec.at))
        detail = " ".join(f"{k}={v}" for k, v in sorted(rec.fields().items())
                          if k not in ("at", "user", "peer", "source"))
        print(f"{rec.seq}\t{when}Z\t{rec.type}\t{rec.user or '-'}\t{rec.peer or '-'}\t{detail}")
    return 0




def record_events(settings: Settings, events: Sequence[AuditEvent]) -> None:
    """Append events a CLI command produced to the audit log (as ``record_admin_action``)."""
    if not events or not settings.audit.is_enabled:
        return
    key = settings.path(settings.audit.signing_key_file)
    if not key.is_file():
        return
    chain = AuditChain(settings.data_dir / settings.audit.db_file, SystemClock(),
                       signer=load_signing_key(key))
    try:
        chain.append(events)
    finally:
        chain.close()


class CliEvents:
    """The ``EventSink`` of one CLI command (app passwords, ...): the events it collects are
    published when the command is done (``publish``): appended to the audit log, and the
    user told of what concerns them (``audit.sinks.UserNotifier``: "App password '...'
    created"), as the running server would have done had the change come through it."""

    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def emit(self, event: AuditEvent) -> None:
        self.events.append(event)

    @contextlib.asynccontextmanager
    async def publishing(self, settings: Settings, store: MailStore) -> AsyncIterator[None]:
        """Publish on the way out, also when the command failed part-way."""
        try:
            yield
        finally:
            await self.publish(settings, store)

    async def publish(self, settings: Settings, store: MailStore) -> None:
        from mailfort.audit.detectors.permission_change import PermissionChangeDetector
        from mailfort.audit.sinks import SecurityMailboxSink, UserNotifier
        from mailfort.cli.bootstrap import StoreMailDrop

        events, self.events = self.events, []
        if not events or not settings.audit.is_enabled:
            return
        # Admin actions and permission changes raise an alert whichever door they came
        # through; the detector is stateless, so the CLI runs it itself. The alert goes to the
        # log and the security mailbox (webhook and syslog delivery belong to the server).
        detector = PermissionChangeDetector(settings.audit.detectors, SystemClock())
        alerts = [alert for event in events for alert in detector.observe(event)]
        await asyncio.to_thread(record_events, settings, [*events, *alerts])
        drop = StoreMailDrop(store)
        await UserNotifier(drop, settings.audit.notify).handle(events)
        a = settings.audit
        if alerts and a.security_mailbox_user:
            sink = SecurityMailboxSink(drop, a.security_mailbox_user, a.security_mailbox)
            for alert in alerts:
                await sink.send(alert)


def record_admin_action(settings: Settings, event: AdminAction) -> None:
    """Append a CLI admin action to the audit log (the running server may be appending too:
    the chain reads its head inside the write transaction). Needs the signing key to exist
    (``mailfort serve`` creates it); without the audit log nothing is recorded."""
    if not settings.audit.is_enabled:
        return
    db, key = settings.data_dir / settings.audit.db_file, settings.path(
        settings.audit.signing_key_file)
    if not key.is_file():
        return
    chain = AuditChain(db, SystemClock(), signer=load_signing_key(key))
    try:
        chain.append([event])
    finally:
        chain.close()
