"""``mailfort``: the command line. Each subcommand lives in its own module with
``add_parser(subparsers)`` and ``run(args) -> int``; this module only wires them together and
turns Mailfort's own errors into a message and exit status 2."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from mailfort.core.errors import ConfigError, MailfortError, UsageError

__all__ = ["main", "build_parser"]

_DESCRIPTION = """\
Mailfort: a secure-by-default IMAP server.

First run:  mailfort serve            (creates ./data, a self-signed certificate, and serves
                                       IMAP on 127.0.0.1:1993 (TLS) and :1143 (STARTTLS))
Then:       mailfort user add alice@example.com
"""


_RUNNERS: dict[str, Callable[[argparse.Namespace], int]] = {}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from mailfort.cli import (
        acl,
        app_password,
        audit,
        deliver,
        group,
        guard,
        honeytoken,
        label,
        mfa,
        quota,
        report,
        role,
        scan,
        serve,
        shared,
        tokens,
        user,
    )

    parser = _Parser(prog="mailfort", description=_DESCRIPTION,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-c", "--config", metavar="PATH",
                        help="configuration file (TOML). Default: $MAILFORT_CONFIG, else "
                             "./mailfort.toml if present, else built-in defaults with data "
                             "in ./data")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    modules: list[object] = [serve, user, deliver, mfa, app_password, tokens, guard, audit,
                             report, scan, label, honeytoken]
    modules += [group, shared, acl, quota, role]
    for module in modules:
        before = set(sub.choices)
        module.add_parser(sub)  # type: ignore[attr-defined]
        for name in set(sub.choices) - before:
            _RUNNERS[name] = module.run  # type: ignore[attr-defined]
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    runner = _RUNNERS[args.command]
    try:
        return runner(args)
    except ConfigError as exc:
        print(f"mailfort: configuration error: {exc}", file=sys.stderr)
        return 2
    except UsageError as exc:
        print(f"mailfort: error: {exc}", file=sys.stderr)
        return 2
    except MailfortError as exc:
        print(f"mailfort: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
