"""``mailfort guard list|ban|unban|status``: bans, lockouts and IP policy, explained.

Guard state is kept in the database and shared with the running server: it writes its failure
counters, lockouts and bans there every ``[guard] state_sync_interval_s`` (default 5 s), so
``status`` here explains what the server enforces; bans, unbans and unlocks made here reach
the server at its next sync, or at once on SIGHUP (``kill -HUP``).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import re
from typing import Final

from mailfort.cli.audit import CliEvents
from mailfort.cli.bootstrap import build_security, runtime
from mailfort.cli.settings import settings_from_args
from mailfort.core.clock import SystemClock
from mailfort.core.errors import UsageError
from mailfort.guard.errors import InvalidSource
from mailfort.guard.ippolicy import parse_source

__all__ = ["add_parser", "run", "parse_duration", "when"]

_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION: Final = re.compile(r"(\d{1,6})([smhdw])")
_MAX_DURATION_S: Final = 10 * 365 * 86400


def parse_duration(text: str) -> float:
    """``90d``, ``1h``, ``30m``, ``45s``, ``2w``, or combined (``1h30m``) -> seconds."""
    spec = text.strip().lower()
    pos, total = 0, 0
    while pos < len(spec):
        m = _DURATION.match(spec, pos)
        if m is None:
            raise UsageError(f"not a duration: {text!r} (use e.g. 90d, 12h, 30m, 1h30m)")
        total += int(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if not spec or total <= 0:
        raise UsageError(f"not a duration: {text!r} (use e.g. 90d, 12h, 30m, 1h30m)")
    if total > _MAX_DURATION_S:
        raise UsageError(f"{text!r} is longer than ten years")
    return float(total)


def when(epoch: float | None) -> str:
    if epoch is None:
        return "never"
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "guard", help="list, ban, unban and explain limited addresses and accounts",
        description="The guard refuses banned addresses before the greeting, slows down and "
                    "locks out repeated failed logins, and bans sources that try many "
                    "accounts (credential stuffing). Bans are temporary unless made by hand "
                    "without --for; allowlisted and trusted networks ([guard] allow, trusted) "
                    "are never banned. The running server and these commands share the guard "
                    "state: the server writes it, and applies bans, unbans and unlocks made "
                    "here, every [guard] state_sync_interval_s seconds (default 5) or at once "
                    "on SIGHUP.")
    actions = p.add_subparsers(dest="guard_command", metavar="ACTION")
    actions.required = True
    actions.add_parser("list", help="list current bans", description="List current bans: "
                       "source, since, until, and why.")
    b = actions.add_parser("ban", help="ban an address or network",
                           description="Ban an address (192.0.2.7, 2001:db8::1) or a network "
                                       "in CIDR form (192.0.2.0/24). Without --for the ban "
                                       "lasts until `mailfort guard unban`.")
    b.add_argument("address", metavar="ADDRESS")
    b.add_argument("--for", dest="duration", metavar="DURATION",
                   help="how long, e.g. 1h, 12h, 7d (default: until lifted by hand)")
    b.add_argument("--reason", default="banned by an administrator",
                   help="words shown by `guard list` and `guard status`")
    u = actions.add_parser("unban", help="lift a ban (or an account's lockout)",
                           description="Lift the ban of an address or network, and forget its "
                                       "ban history, so the next ban starts short again. "
                                       "Given a user name, clear the account's lockout "
                                       "and failure count (the running server applies it "
                                       "at its next guard sync, or at once on SIGHUP).")
    u.add_argument("subject", metavar="ADDRESS|USER")
    s = actions.add_parser("status", help="explain why an address or account is limited",
                           description="Explain in words why an address, network or account "
                                       "is limited, since when, until when, and how to lift "
                                       "it.")
    s.add_argument("subject", metavar="ADDRESS|USER")


def _is_source(subject: str) -> bool:
    try:
        parse_source(subject)
    except InvalidSource:
        return False
    return True


async def _run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    action = args.guard_command
    duration = parse_duration(args.duration) if action == "ban" and args.duration else None
    if action == "ban" and not _is_source(args.address):
        raise UsageError(f"not an IP address or CIDR network: {args.address!r} (a network "
                         "must have its host bits zero, e.g. 192.0.2.0/24)")
    events = CliEvents()  # appended to the audit log (and users told) when done
    async with runtime(settings) as rt, events.publishing(settings, rt.store):
        sec = await build_security(settings, rt.store, SystemClock(), events,
                                   hashing=rt.hashing)
        guard = sec.guard
        if action == "list":
            bans = guard.bans()
            if not bans:
                print("No bans.")
            for b in bans:
                kind = "by hand" if b.is_manual else "automatic"
                print(f"{b.source}\tsince {when(b.since)}\tuntil "
                      f"{when(b.until) if b.until else 'lifted by hand'}\t{kind}: "
                      f"{b.reason}")
            return 0
        if action == "ban":
            ban = await guard.ban(args.address, duration_s=duration, reason=args.reason)
            if ban is None:
                raise UsageError(f"{args.address} is on the allowlist or in a trusted network "
                                 "([guard] allow / trusted): it is never banned")
            until = f"until {when(ban.until)}" if ban.until else "until lifted by hand"
            print(f"Banned {ban.source} {until}.")
            return 0
        if action == "unban":
            if _is_source(args.subject):
                if await guard.unban(args.subject):
                    print(f"Lifted the ban of {parse_source(args.subject)}. The running server "
                          f"applies it within {settings.guard.state_sync_interval_s:g} "
                          "seconds, or at once on SIGHUP.")
                    return 0
                raise UsageError(f"{args.subject} is not banned")
            had = await guard.lift(args.subject)
            what = "lockout and failed logins" if had else "record (it was not locked)"
            print(f"Cleared {args.subject}'s {what}. The running server applies it within "
                  f"{settings.guard.state_sync_interval_s:g} seconds, or at once on SIGHUP.")
            return 0
        for line in guard.status(args.subject):
            print(line)
        return 0


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))
