"""``mailfort report``: what happened, from the audit log — top failing sources, bans, alerts,
new devices, unusual downloads — as data, a terminal table (rich) and a self-contained HTML page
with inline SVG charts (no scripts, no external resources)."""

from __future__ import annotations

import datetime
import html
import re
from collections import Counter
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from mailfort.audit.chain import AuditChain
from mailfort.core.errors import UsageError

__all__ = ["ReportData", "build_report", "render_table", "render_html", "parse_when",
           "country_detections"]

_DURATION = re.compile(r"^(\d+)([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_when(text: str, now: float) -> float:
    """``24h``/``30m``/``7d`` (ago), or an ISO date/time (UTC when no zone is given)."""
    m = _DURATION.match(text.strip())
    if m:
        return now - int(m.group(1)) * _UNIT_S[m.group(2)]
    try:
        dt = datetime.datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"cannot read the time {text!r}: use e.g. 24h, 7d or "
                         f"2024-05-01T08:00") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.UTC)
    return dt.timestamp()


@dataclass(frozen=True, slots=True)
class ReportData:
    since: float
    until: float
    logins_ok: int
    logins_failed: int
    failing_sources: tuple[tuple[str, int], ...]  # most failures first
    failures_by_hour: tuple[int, ...]  # one bucket per hour from ``since``
    bans: tuple[tuple[float, str, str], ...]  # at, source, reason
    alerts_by_kind: tuple[tuple[str, int], ...]
    alerts: tuple[tuple[float, str, str, str], ...]  # at, kind, severity, summary
    new_devices: tuple[tuple[float, str, str], ...]  # at, user, source
    unusual_downloads: tuple[tuple[float, str, str], ...]  # at, user, summary
    geoip_db: str = ""  # the GeoIP database in use; empty: country detections are off


def country_detections(data: ReportData) -> str:
    """One line saying whether new-country and impossible-travel detections are on."""
    if not data.geoip_db:
        return ("Country detections (new country, impossible travel): off - no GeoIP "
                "database (set audit.geoip_db to a MaxMind .mmdb)")
    return f"Country detections (new country, impossible travel): on - {data.geoip_db}"


def build_report(chain: AuditChain, since: float, until: float, top: int = 10, *,
                 geoip_db: str = "") -> ReportData:
    hours = max(1, min(24 * 31, int((until - since + 3599) // 3600)))
    by_hour = [0] * hours
    sources: Counter[str] = Counter()
    ok = failed = 0
    bans: list[tuple[float, str, str]] = []
    alerts: list[tuple[float, str, str, str]] = []
    new_devices: list[tuple[float, str, str]] = []
    downloads: list[tuple[float, str, str]] = []
    for rec in chain.search(since=since, until=until,
                            types=["LoginSucceeded", "LoginFailed", "SourceBanned",
                                   "AlertRaised"]):
        f = rec.fields()
        if rec.type == "LoginSucceeded":
            ok += 1
        elif rec.type == "LoginFailed":
            failed += 1
            sources[rec.peer or "?"] += 1
            by_hour[min(hours - 1, int((rec.at - since) // 3600))] += 1
        elif rec.type == "SourceBanned":
            bans.append((rec.at, str(f.get("source")), str(f.get("reason"))))
        else:
            kind, summary = str(f.get("kind")), str(f.get("summary"))
            alerts.append((rec.at, kind, str(f.get("severity")), summary))
            srcs = f.get("sources")
            first = str(srcs[0]) if isinstance(srcs, list) and srcs else "?"
            if kind == "new_device":
                new_devices.append((rec.at, str(f.get("user")), first))
            elif kind == "exfiltration":
                downloads.append((rec.at, str(f.get("user")), summary))
    kinds = Counter(a[1] for a in alerts)
    return ReportData(since, until, ok, failed, tuple(sources.most_common(top)), tuple(by_hour),
                      tuple(bans), tuple(sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))),
                      tuple(alerts), tuple(new_devices), tuple(downloads), geoip_db)


def _ts(at: float) -> str:
    return datetime.datetime.fromtimestamp(at, datetime.UTC).strftime("%Y-%m-%d %H:%M")


def render_table(data: ReportData, console: Console) -> None:
    console.print(f"[bold]Mailfort report[/bold] {_ts(data.since)} .. {_ts(data.until)} UTC: "
                  f"{data.logins_ok} logins, {data.logins_failed} failed, {len(data.bans)} bans, "
                  f"{len(data.alerts)} alerts")
    console.print(country_detections(data), markup=False, highlight=False, soft_wrap=True)
    sections: list[tuple[str, tuple[str, ...], list[tuple[str, ...]]]] = [
        ("Top failing sources", ("source", "failures"),
         [(s, str(n)) for s, n in data.failing_sources]),
        ("Bans", ("time", "source", "reason"), [(_ts(a), s, r) for a, s, r in data.bans]),
        ("Alerts by kind", ("kind", "count"), [(k, str(n)) for k, n in data.alerts_by_kind]),
        ("New devices", ("time", "user", "source"),
         [(_ts(a), u, s) for a, u, s in data.new_devices]),
        ("Unusual downloads", ("time", "user", "what"),
         [(_ts(a), u, s) for a, u, s in data.unusual_downloads]),
    ]
    for title, columns, rows in sections:
        table = Table(title=title, title_justify="left")
        for c in columns:
            table.add_column(c)
        for row in rows:
            table.add_row(*row)
        if not rows:
            table.add_row(*(["none"] + [""] * (len(columns) - 1)))
        console.print(table)


def _bar_chart(title: str, items: list[tuple[str, int]], width: int = 640) -> str:
    bar_h, gap, label_w = 18, 6, 180
    height = 30 + len(items) * (bar_h + gap)
    top = max((n for _, n in items), default=0) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" aria-label="{html.escape(title)}">',
             f'<text x="0" y="16" font-weight="bold">{html.escape(title)}</text>']
    for i, (label, n) in enumerate(items):
        y = 30 + i * (bar_h + gap)
        w = int((width - label_w - 60) * n / top)
        parts.append(f'<text x="0" y="{y + 13}" font-size="12">{html.escape(label[:28])}</text>'
                     f'<rect x="{label_w}" y="{y}" width="{w}" height="{bar_h}" '
                     f'fill="#b8442c"/><text x="{label_w + w + 4}" y="{y + 13}" '
                     f'font-size="12">{n}</text>')
    if not items:
        parts.append('<text x="0" y="44" font-size="12">none</text>')
    parts.append("</svg>")
    return "".join(parts)


def _column_chart(title: str, values: tuple[int, ...], width: int = 640) -> str:
    height, base = 160, 140
    top = max(values, default=0) or 1
    step = width / max(1, len(values))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" aria-label="{html.escape(title)}">',
             f'<text x="0" y="14" font-weight="bold">{html.escape(title)}</text>',
             f'<line x1="0" y1="{base}" x2="{width}" y2="{base}" stroke="#999"/>']
    for i, v in enumerate(values):
        h = int(110 * v / top)
        parts.append(f'<rect x="{i * step:.1f}" y="{base - h}" width="{max(1.0, step - 1):.1f}" '
                     f'height="{h}" fill="#2c6cb8"><title>hour {i}: {v}</title></rect>')
    parts.append("</svg>")
    return "".join(parts)


def _html_table(columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>"
                   for row in rows) or f'<tr><td colspan="{len(columns)}">none</td></tr>'
    return f"<table><tr>{head}</tr>{body}</table>"


def render_html(data: ReportData) -> str:
    """A self-contained page: inline CSS and SVG only; every value HTML-escaped."""
    title = f"Mailfort report {_ts(data.since)} – {_ts(data.until)} UTC"
    parts = [
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        f"<title>{html.escape(title)}</title><style>body{{font-family:sans-serif;margin:2em}}"
        "table{border-collapse:collapse;margin-bottom:1.5em}td,th{border:1px solid #ccc;"
        "padding:3px 8px;text-align:left}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{data.logins_ok} logins, {data.logins_failed} failed logins, {len(data.bans)} bans, "
        f"{len(data.alerts)} alerts.</p>",
        f"<p>{html.escape(country_detections(data))}</p>",
        _column_chart("Failed logins per hour", data.failures_by_hour),
        _bar_chart("Top failing sources", list(data.failing_sources)),
        _bar_chart("Alerts by kind", list(data.alerts_by_kind)),
        "<h2>Bans</h2>", _html_table(("time", "source", "reason"),
                                     [(_ts(a), s, r) for a, s, r in data.bans]),
        "<h2>Alerts</h2>", _html_table(("time", "kind", "severity", "summary"),
                                       [(_ts(a), k, s, m) for a, k, s, m in data.alerts]),
        "<h2>New devices</h2>", _html_table(("time", "user", "source"),
                                            [(_ts(a), u, s) for a, u, s in data.new_devices]),
        "<h2>Unusual downloads</h2>",
        _html_table(("time", "user", "what"), [(_ts(a), u, s)
                                               for a, u, s in data.unusual_downloads]),
        "</body></html>",
    ]
    return "\n".join(parts)
