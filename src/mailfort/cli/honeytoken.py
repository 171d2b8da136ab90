"""``mailfort honeytoken add user NAME | app-password USER | canary USER [--mailbox M]`` and
``mailfort honeytoken list``: decoys that nobody legitimate touches. Any login to a decoy
account, any use of a decoy app password, any FETCH of a canary's body is a critical alert.

Decoys look real: a decoy account is an ordinary account with a random password nobody knows;
a decoy app password is printed once, to be left where an intruder would look (an old config
file, a password-manager export); it never signs anyone in, and a login with it fails as a wrong
password does while the alert names the source; a canary is a plausible message delivered like
any other. The running server picks new
honeytokens up on SIGHUP or at its next housekeeping turn (``audit.state_save_interval_s``).
"""

from __future__ import annotations

import argparse
import asyncio
import email.utils
import secrets
import time
from email.message import EmailMessage

from mailfort.audit.events import AdminAction, NullSink
from mailfort.cli.audit import record_admin_action
from mailfort.cli.bootstrap import build_security, label_store, runtime
from mailfort.cli.settings import settings_from_args
from mailfort.config.model import Settings
from mailfort.core.clock import SystemClock
from mailfort.core.errors import UsageError
from mailfort.core.secret import Secret
from mailfort.service.delivery import deliver_to_user
from mailfort.store.labels import Honeytoken, HoneytokenKind

__all__ = ["add_parser", "run", "canary_message"]

_DECOY_APP_NAMES = ("backup-sync", "old-phone", "calendar-bridge", "archive-export")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("honeytoken", help="plant decoy accounts, app passwords and messages",
                       description="Honeytokens: any touch raises a critical alert naming "
                                   "the source.")
    acts = p.add_subparsers(dest="honeytoken_command", metavar="ACTION")
    acts.required = True
    add = acts.add_parser("add", help="plant a honeytoken")
    kinds = add.add_subparsers(dest="kind", metavar="KIND")
    kinds.required = True
    kinds.add_parser("user", help="a decoy account").add_argument("name")
    kinds.add_parser("app-password", help="a decoy app password of USER").add_argument("user")
    c = kinds.add_parser("canary", help="a canary message in USER's mailbox")
    c.add_argument("user")
    c.add_argument("--mailbox", default="INBOX")
    acts.add_parser("list", help="list honeytokens")


def canary_message(to: str, at: float) -> bytes:
    """A plausible message an intruder would want to read."""
    msg = EmailMessage()
    msg["From"] = "Finance Team <finance@" + (to.partition("@")[2] or "example.com") + ">"
    msg["To"] = to
    msg["Subject"] = "Updated VPN and payroll portal credentials"
    msg["Date"] = email.utils.formatdate(at, localtime=False)
    msg["Message-ID"] = email.utils.make_msgid(domain=to.partition("@")[2] or None)
    msg.set_content("Hi,\n\nAs discussed, the payroll portal and VPN accounts were reset. The "
                    "new access details are in the attached sheet; please keep them private "
                    "and delete this message once noted.\n\nThanks,\nFinance\n")
    msg.add_attachment(b"service,login\nvpn,ops-admin\npayroll,finance-admin\n",
                       maintype="text", subtype="csv", filename="access.csv")
    return msg.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    now = time.time()
    async with runtime(settings) as rt:
        labels = label_store(rt.store)
        if args.honeytoken_command == "list":
            for t in await labels.honeytokens():
                where = (f" {t.name}" if t.kind is not HoneytokenKind.CANARY
                         else f" {t.name} UID {t.uid}")
                print(f"{t.kind.value}\t{t.user}{where if t.name else ''}")
            return 0
        if args.kind == "user":
            name = args.name
            if await rt.store.users.get(name) is None:
                password = Secret(secrets.token_urlsafe(32))
                await rt.store.users.create(name, await rt.hashing.hash(password))
            token = Honeytoken(HoneytokenKind.USER, name, created_at=now)
            shown = f"decoy account {name}"
        elif args.kind == "app-password":
            user = await rt.store.users.get(args.user)
            if user is None:
                raise UsageError(f"no such user: {args.user}")
            sec = await build_security(settings, rt.store, SystemClock(), NullSink(),
                                       hashing=rt.hashing)
            taken = {a.name for a in await sec.state.app_passwords.list(user.id)}
            name = next((n for n in _DECOY_APP_NAMES if n not in taken),
                        f"device-{secrets.token_hex(2)}")
            _, secret = await sec.app_passwords.create_decoy(user, name)
            token = Honeytoken(HoneytokenKind.APP_PASSWORD, user.name, name, created_at=now)
            shown = (f"decoy app password {name!r} of {user.name}: {secret.reveal()}\n"
                     f"Leave it where an intruder would look; it never signs anyone in, and "
                     f"any use of it raises a critical alert. It is not shown again.")
        else:
            result = await deliver_to_user(rt.store, args.user, canary_message(args.user, now),
                                           mailbox=args.mailbox)
            token = Honeytoken(HoneytokenKind.CANARY, args.user, args.mailbox, result.uid,
                               created_at=now)
            shown = f"canary message in {args.user}/{args.mailbox} (UID {result.uid})"
        await labels.add_honeytoken(token)
    await asyncio.to_thread(record_admin_action, settings, AdminAction(
        now, "cli", "local", f"honeytoken.add.{token.kind.value}", token.user))
    print(f"planted {shown}")
    return 0


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(settings_from_args(args), args))
