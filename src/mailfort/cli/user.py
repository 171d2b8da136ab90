"""``mailfort user add|passwd|del|list|import``: accounts."""

from __future__ import annotations

import argparse
import asyncio
import csv
import getpass
import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from mailfort.audit.events import NullSink
from mailfort.auth.legacy import (
    ImportAction,
    LegacyHashError,
    PasswdEntry,
    decide_import,
    parse_passwd_line,
)
from mailfort.auth.mfa import MfaService
from mailfort.auth.passwords import PasswordHashing
from mailfort.auth.policy import PasswordPolicy
from mailfort.auth.usernames import user_name_problem
from mailfort.cli.bootstrap import policy_settings, runtime, security_state
from mailfort.cli.settings import settings_from_args
from mailfort.core.clock import SystemClock
from mailfort.core.errors import UsageError
from mailfort.core.secret import Secret
from mailfort.store.acl import SHARED_HOLDER
from mailfort.store.api import MailStore
from mailfort.store.errors import NoSuchUser, UserExists
from mailfort.store.security import PasswordState, SecurityStore

__all__ = ["add_parser", "run"]

_PROGRESS_MIN_LINES = 200
_MAX_IMPORT_LINE_CHARS = 8192


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("user", help="add, change, delete, list and import accounts",
                       description="Manage mail accounts. No account exists until an admin "
                                   "creates one; new accounts get INBOX, Sent, Drafts, Trash, "
                                   "Junk and Archive.")
    users = p.add_subparsers(dest="user_command", metavar="ACTION")
    users.required = True
    for name, text in (("add", "create an account"), ("passwd", "set a new password")):
        q = users.add_parser(name, help=text, description=text.capitalize() + ". The password "
                             "is asked for twice on a terminal, or read from standard input "
                             "with --password-stdin. It must pass the password policy "
                             "([policy]): long enough, not a common or breached password, "
                             "not containing the user or domain name, not easy to guess.")
        q.add_argument("name", help="the login name, e.g. alice@example.com")
        q.add_argument("--password-stdin", action="store_true",
                       help="read the password from the first line of standard input")
    d = users.add_parser("del", help="delete an account and all its mail",
                         description="Delete an account with all its mailboxes and messages.")
    d.add_argument("name")
    d.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    users.add_parser("list", help="list accounts", description="List accounts.")
    e = users.add_parser(
        "expire", help="make the user choose a new password at next login",
        description="Mark the account's password as expired (for example on evidence of "
                    "compromise): IMAP logins with it get NO [EXPIRED] until a new password "
                    "is set with `mailfort user passwd`. App passwords and tokens are not "
                    "affected; revoke them separately if they may be compromised too.")
    e.add_argument("name")
    i = users.add_parser(
        "import", help="import accounts from a Dovecot passwd-file or CSV",
        description="Import accounts with their existing password hashes. Supported: "
                    "{SHA512-CRYPT}, {SHA256-CRYPT}, {BLF-CRYPT}, {ARGON2ID}, {ARGON2I}, "
                    "{SSHA512}; each is verified as is and replaced by Argon2id at the user's "
                    "first good login. Plain-text and reversible schemes ({PLAIN}, "
                    "{CRAM-MD5}, ...) are refused, or with --hash-plaintext a {PLAIN} "
                    "password is hashed with Argon2id now and reported. Existing accounts are "
                    "left alone. Each refused line is reported with its line number. Exit "
                    "status 0 when every account was imported, 1 when some lines were "
                    "refused, 2 when the file cannot be read.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="passwd-file: user:{SCHEME}hash[:uid:gid:gecos:home:shell:extra]  (a hash "
               "without {SCHEME} is taken as {PLAIN}, Dovecot's default)\n"
               "CSV:         a header row naming the columns user and password (or "
               "password_hash), then one account per row")
    i.add_argument("file", type=Path, metavar="FILE")
    i.add_argument("--format", choices=("passwd", "csv"), default=None,
                   help="the file's format (default: csv for *.csv, else passwd)")
    i.add_argument("--hash-plaintext", "--allow-plaintext", dest="hash_plaintext",
                   action="store_true",
                   help="hash {PLAIN} passwords with Argon2id at import (reported) instead "
                        "of refusing them")


def _read_password(args: argparse.Namespace) -> Secret[str]:
    if args.password_stdin or not sys.stdin.isatty():
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
    else:
        password = getpass.getpass("New password: ")
        if getpass.getpass("Repeat it: ") != password:
            raise UsageError("the two passwords differ")
    return Secret(password)


def _check_name(name: str) -> None:
    problem = user_name_problem(name)
    if problem is not None:
        raise UsageError(f"invalid user name {name!r}: {problem}")


def _enforce_policy(policy: PasswordPolicy, name: str, password: Secret[str],
                    has_mfa: bool) -> None:
    result = policy.check(password, username=name, has_mfa=has_mfa)
    if not result.is_acceptable:
        raise UsageError("password refused:\n" + "\n".join(f"  - {r}" for r in result.reasons))


# -- import ----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Line:
    number: int
    entry: PasswdEntry | None
    problem: str  # when entry is None and the line was not blank


def _passwd_lines(text: str) -> Iterator[_Line]:
    for number, raw in enumerate(text.splitlines(), 1):
        if len(raw) > _MAX_IMPORT_LINE_CHARS:
            yield _Line(number, None, "line too long")
            continue
        try:
            entry = parse_passwd_line(raw)
        except LegacyHashError as exc:
            yield _Line(number, None, str(exc))
            continue
        if entry is not None:
            yield _Line(number, entry, "")


def _csv_lines(text: str) -> Iterator[_Line]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        return
    except csv.Error as exc:
        raise UsageError(f"line 1: not CSV: {exc}") from None
    column = "password" if "password" in header else "password_hash"
    if "user" not in header or column not in header:
        raise UsageError("line 1: the CSV header must name the columns user and password "
                         "(or password_hash)")
    user_at, password_at = header.index("user"), header.index(column)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield _Line(reader.line_num, None, f"not CSV: {exc}")
            continue
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) <= max(user_at, password_at):
            yield _Line(reader.line_num, None, "too few columns")
            continue
        user, stored = row[user_at].strip(), row[password_at].strip()
        if not user or not stored:
            yield _Line(reader.line_num, None, "empty user or password")
            continue
        if not stored.startswith("{"):
            stored = "{PLAIN}" + stored
        yield _Line(reader.line_num, PasswdEntry(user, stored), "")


async def _import_one(store: MailStore, state: SecurityStore, hashing: PasswordHashing,
                      line: _Line, allow_plaintext: bool) -> tuple[bool, str]:
    """(imported, words for the report)."""
    entry = line.entry
    if entry is None:
        return False, line.problem
    try:
        _check_name(entry.user)
    except UsageError as exc:
        return False, str(exc)
    decision = decide_import(entry.password_hash, allow_plaintext=allow_plaintext)
    if decision.action is ImportAction.REFUSE:
        return False, f"{entry.user}: {decision.message}"
    if decision.action is ImportAction.HASH_NOW:
        assert decision.plaintext is not None
        stored = await hashing.hash(decision.plaintext)
    else:
        stored = entry.password_hash
    try:
        user = await store.users.create(entry.user, stored)
    except UserExists:
        return False, f"{entry.user}: refused: the account already exists (left unchanged)"
    await state.password_states.put(PasswordState(user.id, None, False))
    if decision.action is ImportAction.HASH_NOW:
        return True, f"{entry.user}: {decision.message}"
    return True, ""


async def _import(args: argparse.Namespace, store: MailStore, state: SecurityStore,
                  hashing: PasswordHashing) -> int:
    path: Path = args.file
    try:
        text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text") from None
    fmt = args.format or ("csv" if path.suffix.lower() == ".csv" else "passwd")
    lines = list(_csv_lines(text) if fmt == "csv" else _passwd_lines(text))
    imported = hashed = 0
    refused: list[str] = []
    err = Console(stderr=True)
    progress = Progress(TextColumn("importing"), BarColumn(), MofNCompleteColumn(),
                        console=err, transient=True,
                        disable=not err.is_terminal or len(lines) < _PROGRESS_MIN_LINES)
    with progress:
        task = progress.add_task("import", total=len(lines))
        for line in lines:
            ok, words = await _import_one(store, state, hashing, line, args.hash_plaintext)
            if ok:
                imported += 1
                if words:
                    hashed += 1
                    print(f"line {line.number}: {words}")
            else:
                refused.append(f"line {line.number}: {words}")
            progress.advance(task)
    for problem in refused:
        print(problem, file=sys.stderr)
    extra = f" ({hashed} from plain text, hashed now)" if hashed else ""
    print(f"Imported {imported} accounts{extra}; refused {len(refused)} lines.")
    return 1 if refused else 0


# -- the command -----------------------------------------------------------------------------

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
        answer = await asyncio.to_thread(
            input, f"Delete {args.name} and all its mail? Type the name to confirm: ")
        if answer != args.name:
            print("Nothing deleted.")
            return 1
    async with runtime(settings) as rt:
        if action == "list":
            for u in await rt.store.users.list():
                if u.name == SHARED_HOLDER:  # the internal holder of shared mailboxes
                    continue
                state = " (disabled)" if u.is_disabled else ""
                print(f"{u.name}{state}\tcreated {u.created_at:%Y-%m-%d %H:%M}")
            return 0
        if action == "import":
            return await _import(args, rt.store, security_state(rt.store), rt.hashing)
        if action == "expire":
            target = await rt.store.users.get(args.name)
            if target is None:
                raise UsageError(f"no such user: {args.name}")
            states = security_state(rt.store).password_states
            current = await states.get(target.id)
            await states.put(PasswordState(target.id, current.changed_at if current else None,
                                           True))
            print(f"{args.name} must choose a new password: IMAP logins with the current one "
                  "now get NO [EXPIRED]. Set it with `mailfort user passwd`.")
            return 0
        if action in ("add", "passwd"):
            assert password is not None
            policy = PasswordPolicy.default(policy_settings(settings))
            sec = security_state(rt.store)
            clock = SystemClock()
            if action == "add":
                if await rt.store.users.get(args.name) is not None:
                    raise UsageError(f"user {args.name} already exists")
                _enforce_policy(policy, args.name, password, has_mfa=False)
                try:
                    user = await rt.store.users.create(args.name,
                                                       await rt.hashing.hash(password))
                except UserExists:
                    raise UsageError(f"user {args.name} already exists") from None
                await sec.password_states.put(PasswordState(user.id, clock.now(), False))
                print(f"Created {args.name}.")
                return 0
            found = await rt.store.users.get(args.name)
            if found is None:
                raise UsageError(f"no such user: {args.name}")
            mfa = MfaService(sec.mfa_secrets, sec.recovery_codes, clock, NullSink())
            _enforce_policy(policy, found.name, password, has_mfa=await mfa.is_enabled(found))
            await rt.store.users.set_password_hash(found.id, await rt.hashing.hash(password))
            await sec.password_states.put(PasswordState(found.id, clock.now(), False))
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
