"""``mailfort user add|passwd|del|list``: accounts."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from mailfort.auth.passwords import check_new_password
from mailfort.cli.bootstrap import runtime
from mailfort.cli.settings import settings_from_args
from mailfort.core.errors import UsageError
from mailfort.core.secret import Secret
from mailfort.store.errors import NoSuchUser, UserExists

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("user", help="add, change, delete and list accounts",
                       description="Manage mail accounts. No account exists until an admin "
                                   "creates one; new accounts get INBOX, Sent, Drafts, Trash, "
                                   "Junk and Archive.")
    users = p.add_subparsers(dest="user_command", metavar="ACTION")
    users.required = True
    for name, text in (("add", "create an account"), ("passwd", "set a new password")):
        q = users.add_parser(name, help=text, description=text.capitalize() + ". The password "
                             "is asked for twice on a terminal, or read from standard input "
                             "with --password-stdin.")
        q.add_argument("name", help="the login name, e.g. alice@example.com")
        q.add_argument("--password-stdin", action="store_true",
                       help="read the password from the first line of standard input")
    d = users.add_parser("del", help="delete an account and all its mail",
                         description="Delete an account with all its mailboxes and messages.")
    d.add_argument("name")
    d.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    users.add_parser("list", help="list accounts", description="List accounts.")


def _read_password(args: argparse.Namespace) -> Secret[str]:
    if args.password_stdin or not sys.stdin.isatty():
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
    else:
        password = getpass.getpass("New password: ")
        if getpass.getpass("Repeat it: ") != password:
            raise UsageError("the two passwords differ")
    reasons = check_new_password(args.name, password)
    if reasons:
        raise UsageError("password refused: " + "; ".join(reasons))
    return Secret(password)


def _check_name(name: str) -> None:
    if not name or len(name) > 255 or any(c.isspace() or ord(c) < 0x20 for c in name):
        raise UsageError(f"invalid user name {name!r}: no spaces or control characters, "
                         "1 to 255 characters")


async def _run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    action = args.user_command
    password = None
    if action in ("add", "passwd"):
        _check_name(args.name)
        password = _read_password(args)
    if action == "del" and not args.yes:
        if not sys.stdin.isatty():
            raise UsageError("deleting an account needs --yes when not on a terminal")
        answer = input(f"Delete {args.name} and all its mail? Type the name to confirm: ")
        if answer != args.name:
            print("Nothing deleted.")
            return 1
    async with runtime(settings) as rt:
        if action == "list":
            for u in await rt.store.users.list():
                state = " (disabled)" if u.is_disabled else ""
                print(f"{u.name}{state}\tcreated {u.created_at:%Y-%m-%d %H:%M}")
            return 0
        if action == "add":
            assert password is not None
            try:
                await rt.store.users.create(args.name, await rt.hashing.hash(password))
            except UserExists:
                raise UsageError(f"user {args.name} already exists") from None
            print(f"Created {args.name}.")
            return 0
        if action == "passwd":
            assert password is not None
            user = await rt.store.users.get(args.name)
            if user is None:
                raise UsageError(f"no such user: {args.name}")
            await rt.store.users.set_password_hash(user.id, await rt.hashing.hash(password))
            print(f"Password changed for {args.name}.")
            return 0
        try:
            await rt.store.users.delete(args.name)
        except NoSuchUser:
            raise UsageError(f"no such user: {args.name}") from None
        print(f"Deleted {args.name}.")
        return 0


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))
