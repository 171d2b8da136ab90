"""LIST with wildcards over 10,000 mailboxes, Mailfort and Dovecot side by side (issue #6:
"LIST wildcard patterns on 10,000 mailboxes stay fast — a benchmark, not a timed test").

Creates one account with 10,000 mailboxes (100 folders of 100, plus a few deep names) on each
server over IMAP, then times LIST with ordinary and hostile patterns (many ``*``/``%``: the
shape of CVE-2021-40110's ReDoS) and prints each figure for both with the ratio. Appends the
table to BENCHMARKS.md with --record. Takes a few minutes; traffic only to 127.0.0.1.

    .venv/bin/python bench/list_wildcards.py [--mailboxes 10000] [--record]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mailbench.client import ImapClient, client_ssl_context, connect  # noqa: E402
from mailbench.servers import (  # noqa: E402
    CHEAP,
    Account,
    DovecotServer,
    MailfortServer,
    have_dovecot,
    make_certificate,
)

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT = Account("lister@example.com", "Bench-list-password-1")
PATTERNS: tuple[tuple[str, str], ...] = (
    ("all", '"" "*"'),
    ("top level", '"" "%"'),
    ("one folder", '"" "proj42/*"'),
    ("suffix", '"" "*box4242"'),
    ("40 wildcards, no match", '"" "' + "*%" * 20 + '!"'),
    ("40 wildcards, matches", '"" "' + "*" * 40 + 'box1*"'),
    ("alternating", '"" "p*r*o*j*4*2*/*b*o*x*"'),
)
REPEATS = 3


def names(count: int) -> list[str]:
    out = [f"proj{i // 100}" for i in range(0, count, 100)]
    out += [f"proj{i // 100}/box{i}" for i in range(count - len(out))]
    return out[:count]


async def pipeline(client: ImapClient, commands: list[str], batch: int = 200) -> None:
    """Send commands in batches without waiting for each reply (NO is fine: the name
    may already exist from a parent created implicitly)."""
    for start in range(0, len(commands), batch):
        tags = []
        for text in commands[start:start + batch]:
            client._tag += 1
            tag = b"p%d" % client._tag
            tags.append(tag)
            client.writer.write(tag + b" " + text.encode() + b"\r\n")
        await client.writer.drain()
        for tag in tags:
            await client._collect(tag, False)


async def delimiter(client: ImapClient) -> str:
    """The server's hierarchy delimiter (Dovecot's Maildir uses ".", Mailfort "/")."""
    reply = await client.command('LIST "" ""')
    for line in reply.untagged:
        parts = line.split(b'"')
        if len(parts) >= 3:
            return parts[1].decode()
    return "/"


async def measure(port: int, count: int) -> dict[str, tuple[float, int]]:
    client = await connect("127.0.0.1", port, client_ssl_context())
    await client.login(ACCOUNT.name, ACCOUNT.password)
    sep = await delimiter(client)
    await pipeline(client, [f'CREATE "{n.replace("/", sep)}"' for n in names(count)])
    results: dict[str, tuple[float, int]] = {}
    for label, pattern in PATTERNS:
        pattern = pattern.replace("/", sep)
        times = []
        hits = 0
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            reply = await client.command("LIST " + pattern)
            times.append(time.perf_counter() - t0)
            hits = len(reply.untagged)
        results[label] = (statistics.median(times), hits)
    await client.close()
    return results


def run_server(server: MailfortServer | DovecotServer, count: int) -> dict[str, tuple[float, int]]:
    server.seed([ACCOUNT], {})
    server.set_scheme(CHEAP, [ACCOUNT])
    server.start()
    try:
        return asyncio.run(measure(server.port, count))
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mailboxes", type=int, default=10_000)
    parser.add_argument("--record", action="store_true", help="append the table to BENCHMARKS.md")
    args = parser.parse_args(argv)
    if args.mailboxes < 100:
        parser.error("--mailboxes must be at least 100")
    with tempfile.TemporaryDirectory(prefix="listbench-") as tmp:
        work = Path(tmp)
        os.chmod(work, 0o755)  # Dovecot's mail processes run as nobody and must traverse it
        cert, key = make_certificate(work / "tls")
        mf = run_server(MailfortServer(work / "mailfort", cert, key, scheme=CHEAP),
                        args.mailboxes)
        dc = (run_server(DovecotServer(work / "dovecot", cert, key, scheme=CHEAP),
                         args.mailboxes) if have_dovecot() else {})
    lines = [f"### LIST over {args.mailboxes:,} mailboxes (median of {REPEATS})", "",
             "| pattern | Mailfort ms | Dovecot ms | Mailfort / Dovecot | hits (M / D) |",
             "| --- | ---: | ---: | ---: | --- |"]
    for label, _ in PATTERNS:
        m_s, m_hits = mf[label]
        d_s, d_hits = dc.get(label, (float("nan"), 0))
        ratio = m_s / d_s if d_s == d_s and d_s > 0 else float("nan")
        lines.append(f"| {label} | {m_s * 1000:.1f} | {d_s * 1000:.1f} | {ratio:.2f}× "
                     f"| {m_hits} / {d_hits} |")
    table = "\n".join(lines)
    print(table)
    if args.record:
        with (ROOT / "BENCHMARKS.md").open("a", encoding="utf-8") as fh:
            fh.write("\n" + table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
