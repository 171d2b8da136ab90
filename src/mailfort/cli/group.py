"""``mailfort group add|del|list|member add|remove|list``: groups for ACLs (``$name``), IP
policy and MFA policy. Group names follow the user-name alphabet. Every change is audited."""

from __future__ import annotations

import argparse

from mailfort.auth.usernames import user_name_problem
from mailfort.cli.acl import AdminSink, admin_event, run_admin
from mailfort.core.errors import UsageError
from mailfort.store.acl import SHARED_HOLDER, AclStore, GroupExists, NoSuchGroup
from mailfort.store.api import MailStore
from mailfort.store.errors import StoreError

__all__ = ["add_parser", "run", "execute"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("group", help="manage groups and their members",
                       description="Groups name sets of users: $NAME in ACLs, and in IP and "
                                   "MFA policy. Deleting a group removes its ACL entries.")
    actions = p.add_subparsers(dest="group_command", metavar="ACTION")
    actions.required = True
    actions.add_parser("add", help="create a group").add_argument("name", metavar="GROUP")
    actions.add_parser("del", help="delete a group").add_argument("name", metavar="GROUP")
    actions.add_parser("list", help="list groups and their members")
    m = actions.add_parser("member", help="add, remove or list members")
    ma = m.add_subparsers(dest="member_command", metavar="ACTION")
    ma.required = True
    for verb, text in (("add", "add USER to GROUP"), ("remove", "remove USER from GROUP")):
        x = ma.add_parser(verb, help=text)
        x.add_argument("name", metavar="GROUP")
        x.add_argument("user", metavar="USER")
    ma.add_parser("list", help="list GROUP's members").add_argument("name", metavar="GROUP")


async def execute(args: argparse.Namespace, store: MailStore, acl: AclStore,
                  sink: AdminSink) -> int:
    action = args.group_command
    try:
        if action == "list":
            groups = await acl.groups.list()
            if not groups:
                print("No groups.")
            for g in groups:
                print(f"{g.name}\t{', '.join(await acl.groups.members(g.name)) or '-'}")
            return 0
        if action == "add":
            problem = user_name_problem(args.name)
            if problem is not None:
                raise UsageError(f"not a valid group name: {problem}")
            await acl.groups.create(args.name)
            admin_event(sink, "group.add", args.name)
            print(f"Created group {args.name} (use it in ACLs as ${args.name}).")
            return 0
        if action == "del":
            await acl.groups.delete(args.name)
            admin_event(sink, "group.del", args.name)
            print(f"Deleted group {args.name}.")
            return 0
        verb = args.member_command
        if verb == "list":
            for name in await acl.groups.members(args.name):
                print(name)
            return 0
        user = await store.users.get(args.user)
        if user is None or user.name.casefold() == SHARED_HOLDER:
            raise UsageError(f"no such user: {args.user}")
        if verb == "add":
            changed = await acl.groups.add_member(args.name, user.id)
            if changed:
                admin_event(sink, "group.member.add", f"{args.name} {user.name}")
            print(f"{user.name} {'added to' if changed else 'is already in'} {args.name}.")
            return 0
        changed = await acl.groups.remove_member(args.name, user.id)
        if not changed:
            raise UsageError(f"{user.name} is not in {args.name}")
        admin_event(sink, "group.member.remove", f"{args.name} {user.name}")
        print(f"{user.name} removed from {args.name}.")
        return 0
    except GroupExists:
        raise UsageError(f"group {args.name} already exists") from None
    except NoSuchGroup:
        raise UsageError(f"no such group: {args.name}") from None
    except StoreError as exc:
        if action == "del":
            raise UsageError(f"cannot delete {args.name}: it owns a shared mailbox") from exc
        raise


def run(args: argparse.Namespace) -> int:
    return run_admin(args, execute)
