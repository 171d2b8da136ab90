"""``mailfort app-password create|list|revoke``: per-device passwords for mail clients."""

from __future__ import annotations

import argparse
import asyncio

from mailfort.auth.app_passwords import AppPasswordError
from mailfort.cli.audit import CliEvents
from mailfort.cli.bootstrap import build_security, runtime
from mailfort.cli.guard import parse_duration, when
from mailfort.cli.mfa import check_second_factor, require_user
from mailfort.cli.settings import settings_from_args
from mailfort.core.clock import SystemClock
from mailfort.core.errors import UsageError
from mailfort.store.security import AppPassword

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "app-password", help="create, list and revoke app passwords (for mail clients)",
        description="An app password is what a mail client uses once the account has MFA: "
                    "random, named after the device, shown once, stored hashed, valid for "
                    "IMAP only, revocable and optionally expiring. Creating one for an account "
                    "with MFA asks for a current code from the authenticator app first.")
    actions = p.add_subparsers(dest="app_command", metavar="ACTION")
    actions.required = True
    c = actions.add_parser("create", help="make an app password for one device",
                           description="Make an app password and print it once. With MFA on, "
                                       "a TOTP (or recovery) code is asked for first, on the "
                                       "terminal or from standard input.")
    c.add_argument("name", metavar="USER", help="the login name")
    c.add_argument("--name", dest="device", required=True, metavar="DEVICE",
                   help='the device, e.g. "Thunderbird on laptop"')
    c.add_argument("--expires", metavar="DURATION",
                   help="expire after this long, e.g. 90d, 12h (default: never)")
    ls = actions.add_parser("list", help="list an account's app passwords",
                            description="List app passwords: id, device, created, expiry, "
                                        "last use (time and address), state. Never the "
                                        "passwords themselves.")
    ls.add_argument("name", metavar="USER")
    r = actions.add_parser("revoke", help="revoke an app password",
                           description="Revoke an app password, named by its id or its "
                                       "device name; it stops working at once.")
    r.add_argument("name", metavar="USER")
    r.add_argument("which", metavar="NAME_OR_ID")


def _state(a: AppPassword, now: float) -> str:
    if a.revoked_at is not None:
        return f"revoked {when(a.revoked_at)}"
    if a.expires_at is not None and now >= a.expires_at:
        return "expired"
    return "active"


async def _run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    action = args.app_command
    expires_in = (parse_duration(args.expires) if action == "create" and args.expires
                  else None)
    clock = SystemClock()
    events = CliEvents()  # audited, and the user told, when the command is done
    async with runtime(settings) as rt, events.publishing(settings, rt.store):
        sec = await build_security(settings, rt.store, clock, events, hashing=rt.hashing)
        user = await require_user(rt.store.users, args.name)
        if action == "create":
            has_mfa = await sec.mfa.is_enabled(user)
            required = await sec.mfa_requirement.reason(user)
            if required is not None and not has_mfa:
                raise UsageError(f"MFA is required by policy for {user.name} ({required}) "
                                 f"and is off: turn it on first with `mailfort mfa enroll "
                                 f"{user.name}`")
            if has_mfa:
                await check_second_factor(sec, user)
            try:
                record, secret = await sec.app_passwords.create(user, args.device,
                                                                expires_in_s=expires_in)
            except AppPasswordError as exc:
                raise UsageError(str(exc)) from None
            print(f"App password for {record.name} ({user.name}):\n\n    {secret.reveal()}\n")
            print("Type it into the mail client now: it is shown only once. "
                  f"Id {record.id}, expires {when(record.expires_at)}.")
            if not has_mfa:
                print(f"Note: MFA is off for {user.name}, so its password still opens IMAP "
                      f"too. Turn MFA on with `mailfort mfa enroll {user.name}`.")
            return 0
        records = await sec.app_passwords.list(user)
        now = clock.now()
        if action == "list":
            if not records:
                print(f"{user.name} has no app passwords.")
            for a in records:
                used = (f"last used {when(a.last_used_at)} from {a.last_used_peer}"
                        if a.last_used_at is not None else "never used")
                print(f"{a.id}\t{a.name}\tcreated {when(a.created_at)}\texpires "
                      f"{when(a.expires_at)}\t{used}\t{_state(a, now)}")
            return 0
        matches = [a for a in records if a.id == args.which]
        if not matches:
            matches = [a for a in records if a.name == args.which and a.revoked_at is None]
        if not matches:
            raise UsageError(f"{user.name} has no unrevoked app password with the id or name "
                             f"{args.which!r} (see `mailfort app-password list {user.name}`)")
        if len(matches) > 1:
            raise UsageError(f"several app passwords are named {args.which!r}; revoke by id")
        if not await sec.app_passwords.revoke(user, matches[0].id):
            raise UsageError(f"the app password {args.which!r} is already revoked")
        print(f"Revoked the app password {matches[0].name} ({matches[0].id}) of {user.name}.")
        return 0


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))
