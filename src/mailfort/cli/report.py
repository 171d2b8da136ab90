"""``mailfort report [--since 24h] [--html FILE]``: a summary from the audit log."""

from __future__ import annotations

import argparse
import os
import time

from rich.console import Console

from mailfort.audit.chain import AuditChain
from mailfort.audit.report import build_report, parse_when, render_html, render_table
from mailfort.cli.audit import audit_paths
from mailfort.cli.settings import settings_from_args
from mailfort.core.clock import SystemClock
from mailfort.core.errors import UsageError

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("report", help="top failing sources, bans, alerts, new devices, "
                                      "unusual downloads",
                       description="Summarise the audit log as a table, and optionally as an "
                                   "HTML page with charts.")
    p.add_argument("--since", default="24h", help="e.g. 24h, 7d or 2024-05-01 (default 24h)")
    p.add_argument("--until", help="default: now")
    p.add_argument("--html", metavar="FILE", help="also write a self-contained HTML report")
    p.add_argument("--db", metavar="PATH", help="the audit database (default: DATA/audit.db)")


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    db, _ = audit_paths(settings, args)
    if not db.is_file():
        raise UsageError(f"no audit log at {db}")
    now = time.time()
    since = parse_when(args.since, now)
    until = parse_when(args.until, now) if args.until else now
    chain = AuditChain(db, SystemClock())
    try:
        geoip = str(settings.path(settings.audit.geoip_db)) if settings.audit.geoip_db else ""
        data = build_report(chain, since, until, geoip_db=geoip)
    finally:
        chain.close()
    render_table(data, Console())
    if args.html:
        fd = os.open(args.html, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(render_html(data))
        print(f"HTML report: {args.html}")
    return 0
