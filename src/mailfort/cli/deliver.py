"""``mailfort deliver USER [--mailbox NAME] < message.eml``: deliver one message."""

from __future__ import annotations

import argparse
import asyncio
import sys

from mailfort.cli.bootstrap import runtime
from mailfort.cli.settings import settings_from_args
from mailfort.core.errors import UsageError
from mailfort.service.delivery import MessageTooLarge, deliver_to_user
from mailfort.store.errors import NoSuchMailbox, NoSuchUser

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "deliver", help="deliver one message read from standard input",
        description="Deliver one RFC 5322 message, read from standard input, into a user's "
                    "mailbox. The message is stored durably before this command exits 0; "
                    "sessions that have the mailbox selected are told at once.")
    p.add_argument("user", help="the account to deliver to")
    p.add_argument("--mailbox", default="INBOX", help="target mailbox (default: INBOX)")


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    limit = settings.limits.max_message_bytes
    raw = sys.stdin.buffer.read(limit + 1)
    if not raw:
        raise UsageError("no message on standard input")
    if len(raw) > limit:
        raise UsageError(f"the message is larger than limits.max_message_bytes ({limit})")

    async def _deliver() -> int:
        async with runtime(settings) as rt:
            try:
                result = await deliver_to_user(rt.store, args.user, raw, mailbox=args.mailbox,
                                               max_message_bytes=limit)
            except NoSuchUser:
                raise UsageError(f"no such user: {args.user}") from None
            except NoSuchMailbox:
                raise UsageError(f"{args.user} has no mailbox {args.mailbox!r}") from None
            except MessageTooLarge:
                raise UsageError("the message is too large") from None
        print(f"Delivered to {args.user}/{args.mailbox} as UID {result.uid} "
              f"(UIDVALIDITY {result.uidvalidity}).")
        return 0

    return asyncio.run(_deliver())
