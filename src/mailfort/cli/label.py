"""``mailfort label set|clear|list``: labels on mailboxes (``sensitive``: every access is
audited and alerted)."""

from __future__ import annotations

import argparse
import asyncio
import time

from mailfort.audit.events import AdminAction
from mailfort.cli.audit import record_admin_action
from mailfort.cli.bootstrap import label_store, runtime
from mailfort.cli.settings import settings_from_args
from mailfort.config.model import Settings
from mailfort.core.errors import UsageError

__all__ = ["add_parser", "run", "split_target"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("label", help="label mailboxes (e.g. sensitive)",
                       description="Label a mailbox: access to a mailbox labelled sensitive "
                                   "is audited and raises an alert.")
    acts = p.add_subparsers(dest="label_command", metavar="ACTION")
    acts.required = True
    for name, text in (("set", "put a label on USER/MAILBOX"),
                       ("clear", "remove a label from USER/MAILBOX")):
        q = acts.add_parser(name, help=text, description=text.capitalize() + ".")
        q.add_argument("target", metavar="USER/MAILBOX")
        q.add_argument("label", nargs="?", default="sensitive")
    q = acts.add_parser("list", help="list labelled mailboxes")
    q.add_argument("label", nargs="?")


def split_target(target: str) -> tuple[str, str]:
    """``alice@example.com/Legal/2024`` -> (``alice@example.com``, ``Legal/2024``)."""
    user, sep, mailbox = target.partition("/")
    if not sep or not user or not mailbox:
        raise UsageError(f"expected USER/MAILBOX, got {target!r}")
    return user, mailbox


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    async with runtime(settings) as rt:
        labels = label_store(rt.store)
        if args.label_command == "list":
            for item in await labels.list_labels(args.label):
                print(f"{item.user}/{item.mailbox}\t{item.label}")
            return 0
        user_name, mailbox = split_target(args.target)
        user = await rt.store.users.get(user_name)
        if user is None:
            raise UsageError(f"no such user: {user_name}")
        info = await rt.store.mailboxes.get(user.id, mailbox)
        if info is None:
            raise UsageError(f"{user_name} has no mailbox {mailbox!r}")
        if args.label_command == "set":
            changed = await labels.set_label(info.id, args.label, time.time())
            print(f"{user.name}/{info.name}: {args.label}" + ("" if changed else " (already)"))
        else:
            changed = await labels.clear_label(info.id, args.label)
            print(f"{user.name}/{info.name}: {args.label} " +
                  ("removed" if changed else "was not set"))
    if changed:
        await asyncio.to_thread(record_admin_action, settings, AdminAction(
            time.time(), "cli", "local", f"label.{args.label_command}",
            f"{args.target} {args.label}"))
    return 0


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    return asyncio.run(_run(settings, args))
