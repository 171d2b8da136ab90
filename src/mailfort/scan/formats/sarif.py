"""SARIF 2.1.0 output, so CI systems (GitHub code scanning, GitLab, Azure DevOps) show findings.

One rule per finding id; one result per finding, located at ``imap://host:port``.
"""

from __future__ import annotations

import json

from mailfort.scan.formats.json_report import JsonValue
from mailfort.scan.report import Finding, ScanReport, Severity

__all__ = ["SARIF_SCHEMA", "render_sarif", "to_sarif"]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
_SCORE = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}


def _rule(f: Finding) -> dict[str, JsonValue]:
    return {
        "id": f.id,
        "name": "".join(part.capitalize() for part in f.id.split("-")),
        "shortDescription": {"text": f.title},
        "help": {"text": f.remediation},
        "defaultConfiguration": {"level": _LEVEL[f.severity]},
        "properties": {
            "security-severity": _SCORE[f.severity],
            "tags": ["security", "imap"],
            "references": list(f.references),
        },
    }


def to_sarif(report: ScanReport) -> dict[str, JsonValue]:
    rules: dict[str, dict[str, JsonValue]] = {}
    results: list[JsonValue] = []
    for host in report.hosts:
        for f in host.findings:
            rules.setdefault(f.id, _rule(f))
            uri = f"imap://{host.host}" + (f":{f.port}" if f.port else "")
            results.append(
                {
                    "ruleId": f.id,
                    "ruleIndex": list(rules).index(f.id),
                    "level": _LEVEL[f.severity],
                    "message": {
                        "text": f"{f.title}\n\nEvidence:\n{f.evidence}\n\nFix: {f.remediation}"
                    },
                    "locations": [
                        {
                            "physicalLocation": {"artifactLocation": {"uri": uri}},
                            "logicalLocations": [{"name": host.host, "kind": "resource"}],
                        }
                    ],
                    "partialFingerprints": {
                        "mailfortFinding/v1": f"{host.host}:{f.port or 0}:{f.id}"
                    },
                    "properties": {"severity": f.severity.value},
                }
            )
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "mailfort-scan",
                        "version": report.tool_version,
                        "informationUri": "https://www.rfc-editor.org/rfc/rfc8314",
                        "rules": list(rules.values()),
                    }
                },
                "invocations": [{"executionSuccessful": True, "startTimeUtc": report.started_at}]
                if report.started_at
                else [{"executionSuccessful": True}],
                "results": results,
            }
        ],
    }


def render_sarif(report: ScanReport) -> str:
    return json.dumps(to_sarif(report), indent=2, ensure_ascii=False) + "\n"
