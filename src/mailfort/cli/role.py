"""``mailfort role set USER admin|auditor|user`` and ``role get USER``: what an account may
administer. No role opens anyone's mailbox: mail access is granted by ACLs only (and those
grants are audited)."""

from __future__ import annotations

import argparse

from mailfort.acl.roles import UnknownRole, parse_role
from mailfort.cli.acl import AdminSink, admin_event, run_admin
from mailfort.core.errors import UsageError
from mailfort.store.acl import SHARED_HOLDER, AclStore
from mailfort.store.api import MailStore

__all__ = ["add_parser", "run", "execute"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("role", help="set an account's role (admin, auditor, user)",
                       description="admin: manage users, groups, ACLs, quotas and the guard. "
                                   "auditor: read the audit log and reports, no mail. user: "
                                   "no administration. No role gives access to others' mail.")
    actions = p.add_subparsers(dest="role_command", metavar="ACTION")
    actions.required = True
    s = actions.add_parser("set", help="set USER's role")
    s.add_argument("user", metavar="USER")
    s.add_argument("role", metavar="admin|auditor|user")
    actions.add_parser("get", help="show USER's role").add_argument("user", metavar="USER")


async def execute(args: argparse.Namespace, store: MailStore, acl: AclStore,
                  sink: AdminSink) -> int:
    user = await store.users.get(args.user)
    if user is None or user.name.casefold() == SHARED_HOLDER:
        raise UsageError(f"no such user: {args.user}")
    if args.role_command == "get":
        print(f"{user.name}\t{await acl.roles.get(user.id)}")
        return 0
    try:
        role = parse_role(args.role)
    except UnknownRole:
        raise UsageError(f"unknown role {args.role!r} (use admin, auditor or user)") from None
    await acl.roles.set(user.id, role.value)
    admin_event(sink, "role.set", f"{user.name} {role.value}")
    print(f"{user.name} is now {role.value}.")
    return 0


def run(args: argparse.Namespace) -> int:
    return run_admin(args, execute)
