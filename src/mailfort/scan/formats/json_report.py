"""The JSON report: one object per host with its findings (stable keys, for tooling)."""

from __future__ import annotations

import json

from mailfort.scan.report import Finding, HostReport, ScanReport

__all__ = ["finding_to_dict", "render_json", "to_dict"]

JsonValue = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]


def finding_to_dict(f: Finding) -> dict[str, JsonValue]:
    return {
        "id": f.id,
        "severity": f.severity.value,
        "title": f.title,
        "port": f.port,
        "evidence": f.evidence,
        "remediation": f.remediation,
        "references": list(f.references),
    }


def _host(h: HostReport) -> dict[str, JsonValue]:
    return {
        "host": h.host,
        "reachable": h.reachable,
        "error": h.error,
        "duration_s": round(h.duration_s, 3),
        "ports": [
            {
                "port": p.port,
                "transport": p.transport.value,
                "greeting": p.greeting,
                "starttls_offered": p.starttls_offered,
            }
            for p in h.ports
        ],
        "findings": [finding_to_dict(f) for f in h.findings],
    }


def to_dict(report: ScanReport) -> dict[str, JsonValue]:
    return {
        "tool": {"name": "mailfort scan", "version": report.tool_version},
        "started_at": report.started_at,
        "hosts": [_host(h) for h in report.hosts],
    }


def render_json(report: ScanReport) -> str:
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False) + "\n"
