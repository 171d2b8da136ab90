"""``mailfort quota set|get USER|Shared/NAME [--storage 1G] [--messages 100000]``: RFC 9208
limits per user and per shared mailbox. ``none`` removes a limit. Usage is exact (kept by the
store in each delivery's transaction)."""

from __future__ import annotations

import argparse

from mailfort.acl.quota import InvalidQuota, format_size, parse_size
from mailfort.cli.acl import AdminSink, admin_event, run_admin
from mailfort.core.errors import UsageError
from mailfort.store.acl import (
    SHARED_HOLDER,
    AclStore,
    NoSuchSharedMailbox,
    QuotaRoot,
    QuotaRootKind,
)
from mailfort.store.api import MailStore
from mailfort.store.errors import NoSuchUser

__all__ = ["add_parser", "run", "execute"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("quota", help="set and show storage and message quotas",
                       description="Quotas (RFC 9208) per user and per shared mailbox: "
                                   "STORAGE (sizes like 500M, 1G) and MESSAGE (a count). "
                                   "APPEND, COPY and MOVE beyond a limit are refused with "
                                   "[OVERQUOTA]; `none` removes a limit.")
    actions = p.add_subparsers(dest="quota_command", metavar="ACTION")
    actions.required = True
    s = actions.add_parser("set", help="set limits (omitted ones are kept)")
    s.add_argument("target", metavar="USER|Shared/NAME")
    s.add_argument("--storage", metavar="SIZE", help="e.g. 1G, 500M, none")
    s.add_argument("--messages", metavar="COUNT", help="e.g. 100000, none")
    actions.add_parser("get", help="show limits and usage").add_argument(
        "target", metavar="USER|Shared/NAME")


def _root(target: str) -> QuotaRoot:
    if target.startswith("Shared/"):
        return QuotaRoot(QuotaRootKind.SHARED, target.removeprefix("Shared/"))
    if target.casefold() == SHARED_HOLDER or "/" in target:
        raise UsageError(f"not a user or Shared/NAME: {target}")
    return QuotaRoot(QuotaRootKind.USER, target)


def _count(text: str) -> int | None:
    if text.strip().lower() in ("none", "unlimited"):
        return None
    if not text.strip().isdigit() or len(text.strip()) > 18:
        raise UsageError(f"not a message count: {text!r}")
    return int(text)


async def execute(args: argparse.Namespace, store: MailStore, acl: AclStore,
                  sink: AdminSink) -> int:
    root = _root(args.target)
    try:
        state = await acl.quotas.get(root)
        if args.quota_command == "set":
            if args.storage is None and args.messages is None:
                raise UsageError("give --storage and/or --messages")
            try:
                storage = (state.storage_limit if args.storage is None
                           else parse_size(args.storage))
            except InvalidQuota as exc:
                raise UsageError(f"--storage: {exc}") from None
            messages = state.message_limit if args.messages is None else _count(args.messages)
            await acl.quotas.set_limits(root, storage, messages)
            shown = "unlimited" if messages is None else str(messages)
            admin_event(sink, "quota.set",
                        f"{args.target} storage={format_size(storage)} messages={shown}")
            state = await acl.quotas.get(root)
    except NoSuchUser:
        raise UsageError(f"no such user: {args.target}") from None
    except NoSuchSharedMailbox:
        raise UsageError(f"no such shared mailbox: {args.target}") from None
    msgs = "unlimited" if state.message_limit is None else str(state.message_limit)
    print(f"{args.target}\tstorage {format_size(state.storage_used) if state.storage_used else '0'}"
          f" of {format_size(state.storage_limit)}\tmessages {state.messages_used} of {msgs}")
    return 0


def run(args: argparse.Namespace) -> int:
    return run_admin(args, execute)
