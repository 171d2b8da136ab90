"""``mailfort scan``: audit IMAP servers for the weaknesses attackers use.

Exit status: 0 when no finding is at or above ``--fail-on`` (default: medium), 1 otherwise,
2 on usage errors. Only the hosts named on the command line or in ``--hosts-file`` are
contacted.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from mailfort.core.secret import Secret
from mailfort.scan.context import ScanOptions
from mailfort.scan.formats.html import render_html
from mailfort.scan.formats.json_report import render_json
from mailfort.scan.formats.sarif import render_sarif
from mailfort.scan.formats.terminal import render_terminal
from mailfort.scan.report import HostReport, ScanReport, Severity
from mailfort.scan.runner import scan_hosts

__all__ = ["add_parser", "build_parser", "exit_code", "main", "progress_wanted", "run"]

PASSWORD_ENV = "MAILFORT_SCAN_PASSWORD"  # noqa: S105 - a variable name


def _severity(text: str) -> Severity:
    try:
        return Severity.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range: {value}")
    return value


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text}")
    return value


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("hosts", nargs="*", metavar="HOST", help="host names or addresses to scan")
    p.add_argument("--hosts-file", type=Path, help="file with one host per line (# comments)")
    p.add_argument(
        "-p",
        "--port",
        dest="ports",
        type=_port,
        action="append",
        help="port to probe (repeatable; default 143 and 993)",
    )
    p.add_argument(
        "--fail-on",
        type=_severity,
        default=Severity.MEDIUM,
        metavar="SEVERITY",
        help="exit 1 if a finding is at or above this (critical/high/medium/low/info; "
        "default medium)",
    )
    p.add_argument("--format", choices=("terminal", "json", "sarif", "html"), default="terminal")
    p.add_argument("-o", "--output", type=Path, help="write the report here instead of stdout")
    p.add_argument(
        "--host-timeout",
        type=_positive,
        default=120.0,
        metavar="SECONDS",
        help="time budget per host (default 120)",
    )
    p.add_argument(
        "--timeout",
        type=_positive,
        default=10.0,
        metavar="SECONDS",
        help="per network operation (default 10)",
    )
    p.add_argument("--concurrency", type=int, default=8, help="hosts scanned at once (default 8)")
    p.add_argument("--no-tls-scan", action="store_true", help="skip the sslyze TLS checks")
    p.add_argument("--ca-file", type=Path, help="extra trusted CA certificates (PEM)")
    p.add_argument("--server-name", help="name the certificate must match (default: the host)")
    p.add_argument("-v", "--verbose", action="store_true", help="show evidence in the terminal")
    opt = p.add_argument_group("opt-in active checks (send logins; use a test account you own)")
    opt.add_argument("--test-user", help="the test account for brute-force/enumeration checks")
    opt.add_argument(
        "--bruteforce",
        type=int,
        default=0,
        metavar="N",
        help="try N wrong passwords for --test-user",
    )
    opt.add_argument(
        "--enumeration",
        action="store_true",
        help="compare replies for --test-user with unknown users",
    )
    opt.add_argument(
        "--default-credentials", action="store_true", help="try a short list of default credentials"
    )
    opt.add_argument(
        "--rate",
        type=_positive,
        default=2.0,
        metavar="PER_SECOND",
        help="maximum login attempts per second (default 2)",
    )
    auth = p.add_argument_group("authenticated checks")
    auth.add_argument("--auth-user", help=f"log in as this user (password from ${PASSWORD_ENV})")
    auth.add_argument(
        "--idle-probe",
        type=_positive,
        default=0.0,
        metavar="SECONDS",
        help="with --auth-user: stay in IDLE this long and report if the server ends it "
        "(the host time budget is extended by as much)",
    )


def build_parser(prog: str = "mailfort scan") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__.split("\n")[0] if __doc__ else None
    )
    _configure(parser)
    return parser


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``scan`` on an argparse subparsers object (from ``add_subparsers()``)."""
    p = subparsers.add_parser("scan", help="audit IMAP servers for security weaknesses")
    _configure(p)
    p.set_defaults(func=run)


def _hosts(args: argparse.Namespace) -> list[str]:
    hosts: list[str] = list(args.hosts or [])
    if args.hosts_file is not None:
        try:
            text = args.hosts_file.read_text("utf-8")
        except OSError as exc:
            raise _Usage(f"cannot read --hosts-file {args.hosts_file}: {exc.strerror}") from None
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                hosts.append(line)
    seen: dict[str, None] = {}
    for h in hosts:
        if any(c.isspace() or c in "/@" for c in h):
            raise _Usage(f"not a host name: {h!r}")
        seen.setdefault(h, None)
    if not seen:
        raise _Usage("no hosts given (name hosts or use --hosts-file)")
    return list(seen)


class _Usage(Exception):
    pass


def _options(args: argparse.Namespace) -> ScanOptions:
    if (args.bruteforce or args.enumeration) and not args.test_user:
        raise _Usage("--bruteforce and --enumeration need --test-user")
    if args.bruteforce < 0:
        raise _Usage("--bruteforce must be >= 0")
    if args.concurrency < 1:
        raise _Usage("--concurrency must be >= 1")
    password: Secret[str] | None = None
    if args.auth_user:
        raw = os.environ.get(PASSWORD_ENV)
        if not raw:
            raise _Usage(f"--auth-user needs the password in ${PASSWORD_ENV}")
        password = Secret(raw)
    if args.idle_probe and not args.auth_user:
        raise _Usage("--idle-probe needs --auth-user")
    if args.ca_file is not None and not args.ca_file.is_file():
        raise _Usage(f"--ca-file not found: {args.ca_file}")
    return ScanOptions(
        ports=tuple(dict.fromkeys(args.ports)) if args.ports else (143, 993),
        host_timeout_s=args.host_timeout + args.idle_probe,
        op_timeout_s=args.timeout,
        tls_checks=not args.no_tls_scan,
        ca_file=args.ca_file,
        server_name=args.server_name,
        test_user=args.test_user,
        bruteforce_attempts=args.bruteforce,
        enumeration=args.enumeration,
        default_credentials=args.default_credentials,
        rate_per_s=args.rate,
        auth_user=args.auth_user,
        auth_password=password,
        idle_wait_s=args.idle_probe,
    )


def progress_wanted(*, hosts: int, fmt: str, to_stdout: bool, stderr_is_terminal: bool) -> bool:
    """Show a progress bar (on stderr) only for several hosts, for a person watching a terminal,
    and never while a machine-readable report is written to stdout."""
    machine_readable = fmt != "terminal"
    return hosts > 1 and stderr_is_terminal and not (machine_readable and to_stdout)


def exit_code(report: ScanReport, fail_on: Severity) -> int:
    return 1 if report.findings_at_or_above(fail_on) else 0


def run(args: argparse.Namespace) -> int:
    """Run a parsed ``scan`` command; returns the exit status."""
    err = Console(stderr=True)
    try:
        hosts = _hosts(args)
        options = _options(args)
    except _Usage as exc:
        err.print(f"mailfort scan: error: {exc}", markup=False, highlight=False)
        return 2
    if progress_wanted(
        hosts=len(hosts),
        fmt=args.format,
        to_stdout=args.output is None,
        stderr_is_terminal=err.is_terminal and not err.is_dumb_terminal,
    ):
        with Progress(
            TextColumn("scanning"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            console=err,
            transient=True,
        ) as progress:
            task = progress.add_task("", total=len(hosts))

            def done(h: HostReport) -> None:
                progress.update(task, advance=1, description=h.host)

            report = scan_hosts(hosts, options, concurrency=args.concurrency, on_host_done=done)
    else:
        report = scan_hosts(hosts, options, concurrency=args.concurrency)
    if args.format == "terminal":
        if args.output is not None:
            with args.output.open("w", encoding="utf-8") as fh:
                render_terminal(report, Console(file=fh, width=120), verbose=args.verbose)
        else:
            render_terminal(report, Console(), verbose=args.verbose)
    else:
        text = {"json": render_json, "sarif": render_sarif, "html": render_html}[args.format](
            report
        )
        if args.output is not None:
            args.output.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
    return exit_code(report, args.fail_on)


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (argparse errors exit 2 with a message)."""
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
