"""A self-contained HTML report: inline CSS, no scripts, no external resources; all text escaped."""

from __future__ import annotations

from html import escape

from mailfort.scan.report import HostReport, ScanReport, Severity

__all__ = ["render_html"]

_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:70rem}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%}
td,th{border:1px solid #ddd;padding:.3rem;text-align:left;vertical-align:top}
pre{white-space:pre-wrap;background:#f6f6f6;padding:.5rem;margin:0;font-size:.85rem}
.sev{font-weight:bold;text-transform:uppercase;padding:.1rem .4rem;border-radius:.2rem;color:#fff}
.critical{background:#7b1fa2}.high{background:#c62828}.medium{background:#ef6c00}.low{background:#1565c0}.info{background:#607d8b}
details{margin:.2rem 0}
"""


def _host(h: HostReport) -> str:
    parts = [f"<h2>{escape(h.host)}</h2>"]
    if not h.reachable:
        parts.append(f"<p><strong>Unreachable:</strong> {escape(h.error or '')}</p>")
    if h.ports:
        parts.append(
            "<p>Ports: "
            + ", ".join(
                f"{p.port}/{escape(p.transport.value)}"
                + (" (STARTTLS)" if p.starttls_offered else "")
                for p in h.ports
            )
            + "</p>"
        )
    if not h.findings:
        parts.append("<p>No findings.</p>")
        return "\n".join(parts)
    rows = []
    for f in h.findings:
        refs = ", ".join(escape(r) for r in f.references)
        rows.append(
            f"<tr><td><span class='sev {escape(f.severity.value)}'>"
            f"{escape(f.severity.value)}</span></td>"
            f"<td><code>{escape(f.id)}</code></td><td>{escape(str(f.port or ''))}</td>"
            f"<td><strong>{escape(f.title)}</strong>"
            f"<details><summary>Evidence</summary><pre>{escape(f.evidence)}</pre></details>"
            f"<p><em>Fix:</em> {escape(f.remediation)}</p>"
            + (f"<p><em>References:</em> {refs}</p>" if refs else "")
            + "</td></tr>"
        )
    parts.append(
        "<table><tr><th>Severity</th><th>ID</th><th>Port</th><th>Finding</th></tr>"
        + "".join(rows)
        + "</table>"
    )
    return "\n".join(parts)


def render_html(report: ScanReport) -> str:
    counts = {s: 0 for s in Severity}
    for h in report.hosts:
        for f in h.findings:
            counts[f.severity] += 1
    summary = " ".join(
        f"<span class='sev {s.value}'>{s.value}: {counts[s]}</span>" for s in reversed(Severity)
    )
    body = "\n".join(_host(h) for h in report.hosts)
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' "
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>mailfort scan report</title><style>{_CSS}</style></head><body>"
        f"<h1>mailfort scan report</h1><p>Started {escape(report.started_at)} · "
        f"mailfort {escape(report.tool_version)} · {len(report.hosts)} host(s)</p><p>{summary}</p>"
        f"{body}</body></html>\n"
    )
