"""``mailfort mfa enroll|disable|status USER``: the TOTP second factor.

Also home of what the other account-security commands share when they check a second factor
(``app-password create``, ``token issue``): finding the account, reading a line that was asked
for, and verifying a TOTP or recovery code.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from mailfort.auth.mfa import MfaError
from mailfort.cli.audit import CliEvents
from mailfort.cli.bootstrap import Security, build_security, runtime
from mailfort.cli.settings import settings_from_args
from mailfort.core.clock import SystemClock
from mailfort.core.errors import UsageError
from mailfort.core.secret import Secret
from mailfort.store.api import Users
from mailfort.store.types import User

__all__ = ["add_parser", "run", "require_user", "ask", "ask_secret", "check_second_factor"]

_CONFIRM_ATTEMPTS = 3


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "mfa", help="turn the TOTP second factor on or off for an account",
        description="Time-based one-time codes (RFC 6238) from an authenticator app. Once MFA "
                    "is on, the account's password no longer opens IMAP: mail clients use app "
                    "passwords (`mailfort app-password create`) or tokens (`mailfort token "
                    "issue`), each made after a second-factor check.")
    actions = p.add_subparsers(dest="mfa_command", metavar="ACTION")
    actions.required = True
    e = actions.add_parser(
        "enroll", help="show a QR code, confirm a first code, print recovery codes",
        description="Make a new TOTP secret, show it as a QR code and an otpauth:// URI, ask "
                    "for the code the app then shows, and print ten single-use recovery codes "
                    "(stored hashed; shown only now). The code is read from the terminal, or "
                    "from standard input.")
    e.add_argument("name", metavar="USER", help="the login name")
    d = actions.add_parser(
        "disable", help="turn MFA off (the password opens IMAP again)",
        description="Delete the account's TOTP secret and recovery codes. App passwords "
                    "stay valid until revoked.")
    d.add_argument("name", metavar="USER")
    d.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    s = actions.add_parser("status", help="say whether MFA is on",
                           description="Say whether MFA is on, pending or off, and how many "
                                       "recovery codes are left.")
    s.add_argument("name", metavar="USER")


# -- shared by the account-security commands ---------------------------------------------------

async def require_user(users: Users, name: str) -> User:
    user = await users.get(name)
    if user is None:
        raise UsageError(f"no such user: {name}")
    return user


def ask(prompt: str) -> str:
    """One line from standard input after showing ``prompt`` (on standard error, flushed, so
    a program driving us sees it while standard output stays for results); UsageError on
    end of input."""
    print(prompt, file=sys.stderr, flush=True)
    line = sys.stdin.readline()
    if not line:
        raise UsageError("no answer on standard input")
    return line.rstrip("\r\n")


def ask_secret(prompt: str) -> Secret[str]:
    """A password: hidden on a terminal, else the next line of standard input."""
    if sys.stdin.isatty():
        return Secret(getpass.getpass(prompt))
    line = sys.stdin.readline()
    if not line:
        raise UsageError("no password on standard input")
    return Secret(line.rstrip("\r\n"))


async def check_second_factor(sec: Security, user: User) -> None:
    """Ask for a current TOTP code (or a recovery code) and verify it; UsageError if wrong."""
    code = ask(f"Second factor for {user.name}: enter the code from the authenticator app "
               "(or a recovery code):")
    if not await sec.mfa.verify(user, Secret(code)):
        raise UsageError("that code is not right (or was already used); wait for the next "
                         "code and try again")


# -- the command -------------------------------------------------------------------------------

async def _enroll(sec: Security, user: User) -> int:
    try:
        enrolment = await sec.mfa.begin(user)
    except MfaError as exc:
        raise UsageError(f"{exc} (`mailfort mfa disable {user.name}`)") from None
    print(enrolment.qr.reveal())
    print("Scan this QR code with an authenticator app, or open this link on the phone:")
    print(f"  {enrolment.uri.reveal()}")
    print(f"Or type the secret by hand: {enrolment.secret.reveal()}", flush=True)
    for attempt in range(1, _CONFIRM_ATTEMPTS + 1):
        code = ask("Enter the 6-digit code the app shows now, to confirm:")
        try:
            codes = await sec.mfa.confirm(user, code)
        except MfaError as exc:
            if attempt == _CONFIRM_ATTEMPTS or not sys.stdin.isatty():
                raise UsageError(f"{exc}. MFA is not on; run `mailfort mfa enroll "
                                 f"{user.name}` again") from None
            print(f"{exc}.", file=sys.stderr)
            continue
        break
    print(f"\nMFA is on for {user.name}. Recovery codes (each works once; keep them somewhere "
          "safe, they are not shown again):")
    for c in codes:
        print(f"  {c}")
    print("The password no longer opens IMAP: create an app password per mail client with "
          f"`mailfort app-password create {user.name} --name DEVICE`.")
    return 0


async def _run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    action = args.mfa_command
    if action == "disable" and not args.yes:
        if not sys.stdin.isatty():
            raise UsageError("turning MFA off needs --yes when not on a terminal")
        answer = await asyncio.to_thread(input, f"Turn MFA off for {args.name}? [y/N] ")
        if answer.strip().lower() != "y":
            print("Nothing changed.")
            return 1
    events = CliEvents()  # appended to the audit log (and users told) when done
    async with runtime(settings) as rt, events.publishing(settings, rt.store):
        sec = await build_security(settings, rt.store, SystemClock(), events,
                                   hashing=rt.hashing)
        user = await require_user(rt.store.users, args.name)
        if action == "enroll":
            return await _enroll(sec, user)
        if action == "disable":
            if await sec.mfa.disable(user):
                print(f"MFA is off for {user.name}; its recovery codes are deleted. App "
                      "passwords stay valid until revoked.")
            else:
                print(f"MFA was not on for {user.name}.")
            return 0
        status = await sec.mfa.status(user)
        required = await sec.mfa_requirement.reason(user)
        if status.is_enabled:
            apps = [a for a in await sec.app_passwords.list(user)
                    if a.is_usable(SystemClock().now())]
            print(f"MFA is on for {user.name}: {status.recovery_codes_left} recovery codes "
                  f"left, {len(apps)} app passwords usable.")
        elif status.is_pending:
            print(f"MFA enrolment for {user.name} was started but never confirmed; MFA is "
                  f"off. Run `mailfort mfa enroll {user.name}` again.")
        else:
            print(f"MFA is off for {user.name}.")
        if required is not None:
            print(f"MFA is required by policy for {user.name} ({required}).")
            if not status.is_enabled:
                print(f"Until MFA is on, {user.name} cannot log in over IMAP (the server "
                      "answers NO [CONTACTADMIN]): run `mailfort mfa enroll "
                      f"{user.name}`.")
        return 0


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))
