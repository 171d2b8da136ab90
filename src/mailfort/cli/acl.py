"""``mailfort acl get|set|delete MAILBOX [WHO [RIGHTS]]``: RFC 4314 ACLs from the command line.

MAILBOX is ``user/Name`` (``alice@example.com/Projects``; ``alice@example.com`` alone is the
INBOX) or ``Shared/NAME[/…]``. WHO is a user name, ``$group`` or ``anyone``; RIGHTS an RFC 4314
rights string (``lrs``), or ``+w`` / ``-w`` to change the current rights. Negative rights are
refused. Every change is an audited admin action: an admin granting themselves rights on
someone's mailbox is exactly what the audit log must show.

This module also holds what the other least-privilege commands (group, shared, quota, role)
share: the admin-event sink and MAILBOX resolution.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from mailfort.acl.names import SHARED_PREFIX, validate_name
from mailfort.acl.policy import (
    IdentifierKind,
    InvalidIdentifier,
    NegativeRightsUnsupported,
    parse_identifier,
)
from mailfort.acl.rights import InvalidRights, format_rights, parse_rights, parse_rights_change
from mailfort.audit.events import AdminAction, AuditEvent, PermissionChanged
from mailfort.cli.audit import CliEvents
from mailfort.cli.bootstrap import acl_state, runtime
from mailfort.cli.settings import settings_from_args
from mailfort.core.errors import UsageError
from mailfort.store.acl import SHARED_HOLDER, AclStore, Grantee, GranteeKind
from mailfort.store.api import MailStore
from mailfort.store.errors import InvalidMailboxName
from mailfort.store.types import MailboxInfo

__all__ = ["add_parser", "run", "run_admin", "execute", "AdminSink", "DiscardSink", "admin_event",
           "CliMailbox", "find_mailbox", "grantee_of", "CLI_ACTOR"]

CLI_ACTOR = "cli"


class AdminSink(Protocol):
    """Where admin actions go: the CLI collects them in ``cli.audit.CliEvents`` and appends
    them to the audit log when the command is done; the server passes its bus."""

    def emit(self, event: AuditEvent) -> None: ...


class DiscardSink:
    def emit(self, event: AuditEvent) -> None:
        return None


def admin_event(sink: AdminSink, action: str, target: str) -> None:
    sink.emit(AdminAction(at=time.time(), user=CLI_ACTOR, peer="local", action=action,
                          target=target))


@dataclass(frozen=True, slots=True)
class CliMailbox:
    owner: str  # user name, or the shared top-level name
    is_shared: bool
    info: MailboxInfo


async def find_mailbox(store: MailStore, acl: AclStore, text: str) -> CliMailbox:
    """``alice/Projects`` / ``alice`` / ``Shared/sales/2024`` -> the mailbox. UsageError."""
    try:
        name = validate_name(text)
    except InvalidMailboxName as exc:
        raise UsageError(f"not a safe mailbox name: {exc}") from None
    if name.startswith(SHARED_PREFIX):
        local = name[len(SHARED_PREFIX):]
        top = local.split("/", 1)[0]
        if await acl.shared.get(top) is None:
            raise UsageError(f"no such shared mailbox: Shared/{top}")
        holder = await acl.shared.holder_id()
        box = await store.mailboxes.get(holder, local)
        if box is None:
            raise UsageError(f"no such mailbox: {text}")
        return CliMailbox(top, True, box)
    user_name, _, local = name.partition("/")
    user = await store.users.get(user_name)
    if user is None or user.name.casefold() == SHARED_HOLDER:
        raise UsageError(f"no such user: {user_name}")
    box = await store.mailboxes.get(user.id, local or "INBOX")
    if box is None:
        raise UsageError(f"no such mailbox: {text}")
    return CliMailbox(user.name, False, box)


def grantee_of(who: str) -> Grantee:
    try:
        ident = parse_identifier(who)
    except NegativeRightsUnsupported:
        raise UsageError("negative rights are not supported (docs/decisions/"
                         "005-acl-model.md): remove the right instead") from None
    except InvalidIdentifier:
        raise UsageError(f"not an identifier: {who!r} (a user, $group or anyone)") from None
    kind = {IdentifierKind.USER: GranteeKind.USER, IdentifierKind.GROUP: GranteeKind.GROUP,
            IdentifierKind.ANYONE: GranteeKind.ANYONE}[ident.kind]
    return Grantee(kind, ident.name)


def _who(g: Grantee) -> str:
    return "$" + g.name if g.kind is GranteeKind.GROUP else g.name


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("acl", help="show and change mailbox ACLs (RFC 4314)",
                       description="Show and change who may do what in a mailbox. MAILBOX is "
                                   "USER/NAME (USER alone: the INBOX) or Shared/NAME. WHO is a "
                                   "user, $group or anyone. RIGHTS are letters of lrswipkxtea "
                                   "(l see, r read, s keep seen, w write flags, i insert, p "
                                   "post, k create children, x delete mailbox, t delete "
                                   "messages, e expunge, a administer); +RIGHTS or -RIGHTS "
                                   "change the current ones (put -- before a -RIGHTS argument: "
                                   "`acl set BOX bob -- -w`). Every change is audited.")
    actions = p.add_subparsers(dest="acl_command", metavar="ACTION")
    actions.required = True
    g = actions.add_parser("get", help="list a mailbox's ACL")
    g.add_argument("mailbox", metavar="MAILBOX")
    s = actions.add_parser("set", help="grant rights (replaces, or +/- changes)")
    s.add_argument("mailbox", metavar="MAILBOX")
    s.add_argument("who", metavar="WHO")
    s.add_argument("rights", metavar="RIGHTS")
    d = actions.add_parser("delete", help="remove WHO's entry")
    d.add_argument("mailbox", metavar="MAILBOX")
    d.add_argument("who", metavar="WHO")


async def execute(args: argparse.Namespace, store: MailStore, acl: AclStore,
                  sink: AdminSink) -> int:
    box = await find_mailbox(store, acl, args.mailbox)
    action = args.acl_command
    if action == "get":
        owner = f"$group owning Shared/{box.owner}" if box.is_shared else box.owner
        print(f"{args.mailbox}\t(owner: {owner}; implicit rights not listed)")
        for entry in await acl.acl.get(box.info.id):
            print(f"{_who(entry.grantee)}\t{entry.rights}")
        return 0
    grantee = grantee_of(args.who)
    if action == "set":
        try:
            change = parse_rights_change(args.rights)
        except InvalidRights:
            raise UsageError(f"not a rights string: {args.rights!r} (letters of "
                             "lrswipkxtea, optionally after + or -)") from None
        current = next((parse_rights(e.rights) for e in await acl.acl.get(box.info.id)
                        if e.grantee.kind is grantee.kind
                        and e.grantee.name.casefold() == grantee.name.casefold()),
                       parse_rights(""))
        rights = format_rights(change.apply(current))
        await acl.acl.set(box.info.id, grantee, rights)
        admin_event(sink, "acl.set", f"{args.mailbox} {_who(grantee)} {rights}")
        _permission_event(sink, box, args.mailbox, grantee, rights)
        print(f"{_who(grantee)} now has {rights or 'no rights'} on {args.mailbox}.")
        return 0
    if not await acl.acl.delete(box.info.id, grantee):
        raise UsageError(f"{_who(grantee)} has no entry on {args.mailbox}")
    admin_event(sink, "acl.delete", f"{args.mailbox} {_who(grantee)}")
    _permission_event(sink, box, args.mailbox, grantee, "")
    print(f"Removed {_who(grantee)} from {args.mailbox}.")
    return 0


def _permission_event(sink: AdminSink, box: CliMailbox, mailbox: str, grantee: Grantee,
                      rights: str) -> None:
    sink.emit(PermissionChanged(at=time.time(), user=CLI_ACTOR, peer="local", session_id="cli",
                                owner=box.owner, mailbox=mailbox, grantee=_who(grantee),
                                rights=rights))


AdminCommand = Callable[[argparse.Namespace, MailStore, AclStore, AdminSink], Awaitable[int]]


def run_admin(args: argparse.Namespace, command: AdminCommand) -> int:
    """Run an admin subcommand (acl, group, quota, role, shared) on the configured store;
    the events it records are appended to the audit log when it is done."""
    async def main() -> int:
        settings = settings_from_args(args)
        events = CliEvents()
        async with runtime(settings) as rt, events.publishing(settings, rt.store):
            return await command(args, rt.store, acl_state(rt.store), events)
    return asyncio.run(main())


def run(args: argparse.Namespace) -> int:
    return run_admin(args, execute)
