"""``mailfort token issue|revoke``: short-lived bearer tokens for OAUTHBEARER and XOAUTH2."""

from __future__ import annotations

import argparse
import asyncio
import sys

from mailfort.audit.events import NullSink
from mailfort.auth.legacy import is_legacy, verify_legacy
from mailfort.cli.bootstrap import build_security, runtime
from mailfort.cli.guard import parse_duration, when
from mailfort.cli.mfa import ask_secret, check_second_factor, require_user
from mailfort.cli.settings import settings_from_args
from mailfort.core.clock import SystemClock
from mailfort.core.errors import UsageError

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "token", help="issue or revoke bearer tokens (OAUTHBEARER, XOAUTH2)",
        description="Mailfort signs its own short-lived bearer tokens for mail clients that "
                    "speak OAUTHBEARER (RFC 7628) or XOAUTH2, verified by the server itself "
                    "and revocable. Issuing one needs the account's password and a second "
                    "factor, so the account must have MFA on.")
    actions = p.add_subparsers(dest="token_command", metavar="ACTION")
    actions.required = True
    i = actions.add_parser("issue", help="issue a token after password + second factor",
                           description="Ask for the account's password, then a TOTP (or "
                                       "recovery) code: on the terminal, or as the first and "
                                       "second lines of standard input. Prints the token on "
                                       "standard output (details on standard error).")
    i.add_argument("name", metavar="USER", help="the login name")
    i.add_argument("--ttl", metavar="DURATION",
                   help="lifetime, e.g. 30m, 8h (default [tokens] ttl_s; capped by max_ttl_s)")
    r = actions.add_parser("revoke", help="revoke one token, or all of an account's",
                           description="Revoke a token by its id (printed when issued), or "
                                       "every token of the account with --all.")
    r.add_argument("name", metavar="USER")
    r.add_argument("token_id", nargs="?", metavar="TOKEN_ID")
    r.add_argument("--all", action="store_true", help="revoke every token of the account")


async def _run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    action = args.token_command
    ttl = parse_duration(args.ttl) if action == "issue" and args.ttl else None
    if action == "revoke" and bool(args.token_id) == bool(args.all):
        raise UsageError("name one TOKEN_ID, or use --all")
    async with runtime(settings) as rt:
        sec = await build_security(settings, rt.store, SystemClock(), NullSink(),
                                   hashing=rt.hashing)
        user = await require_user(rt.store.users, args.name)
        if action == "issue":
            if not await sec.mfa.is_enabled(user):
                raise UsageError(f"tokens need a second factor: turn MFA on first with "
                                 f"`mailfort mfa enroll {user.name}`")
            if user.is_disabled:
                raise UsageError(f"{user.name} is disabled")
            password = ask_secret(f"Password for {user.name}: ")
            if is_legacy(user.password_hash):
                is_ok = await asyncio.to_thread(verify_legacy, user.password_hash, password)
            else:
                is_ok = await rt.hashing.verify(user.password_hash, password)
            if not is_ok:
                raise UsageError("the password is not right")
            await check_second_factor(sec, user)
            record, token = await sec.tokens.issue(user, ttl_s=ttl)
            print(f"Token {record.id} for {user.name}, valid until {when(record.expires_at)}. "
                  f"Revoke it with `mailfort token revoke {user.name} {record.id}`.",
                  file=sys.stderr)
            print(token.reveal())
            return 0
        if args.all:
            count = await sec.tokens.revoke_all(user)
            print(f"Revoked {count} tokens of {user.name}.")
            return 0
        if not await sec.tokens.revoke(user, args.token_id):
            raise UsageError(f"{user.name} has no unrevoked token {args.token_id!r}")
        print(f"Revoked token {args.token_id} of {user.name}.")
        return 0


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))
