"""``mailfort shared create NAME --owner GROUP | list``: team mailboxes under ``Shared/``.

Members of the owning group get every right but ``a`` on the tree; anyone else needs an ACL
grant (``mailfort acl set Shared/NAME WHO RIGHTS``). Each shared mailbox is its own quota root.
"""

from __future__ import annotations

import argparse

from mailfort.acl.names import name_problem
from mailfort.cli.acl import AdminSink, admin_event, run_admin
from mailfort.core.errors import UsageError
from mailfort.store.acl import AclStore, NoSuchGroup, SharedMailboxExists
from mailfort.store.api import MailStore

__all__ = ["add_parser", "run", "execute"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("shared", help="create and list shared mailboxes (Shared/NAME)",
                       description="A shared mailbox appears to users as Shared/NAME. The "
                                   "owning group's members may use it fully except changing "
                                   "its ACL; grant others with `mailfort acl set`.")
    actions = p.add_subparsers(dest="shared_command", metavar="ACTION")
    actions.required = True
    c = actions.add_parser("create", help="create Shared/NAME owned by GROUP")
    c.add_argument("name", metavar="NAME")
    c.add_argument("--owner", required=True, metavar="GROUP")
    actions.add_parser("list", help="list shared mailboxes and their owners")


async def execute(args: argparse.Namespace, store: MailStore, acl: AclStore,
                  sink: AdminSink) -> int:
    if args.shared_command == "list":
        boxes = await acl.shared.list()
        if not boxes:
            print("No shared mailboxes.")
        for s in boxes:
            print(f"Shared/{s.name}\towner ${s.owner_group}")
        return 0
    name = args.name.removeprefix("Shared/")
    problem = name_problem(name)
    if problem is not None or "/" in name:
        raise UsageError("not a safe shared mailbox name: "
                         f"{problem.value if problem else 'use one level, e.g. sales'}")
    try:
        await acl.shared.create(name, args.owner.removeprefix("$"))
    except NoSuchGroup:
        raise UsageError(f"no such group: {args.owner}") from None
    except SharedMailboxExists:
        raise UsageError(f"Shared/{name} already exists") from None
    admin_event(sink, "shared.create", f"Shared/{name} owner ${args.owner.removeprefix('$')}")
    print(f"Created Shared/{name}, owned by ${args.owner.removeprefix('$')}.")
    return 0


def run(args: argparse.Namespace) -> int:
    return run_admin(args, execute)
