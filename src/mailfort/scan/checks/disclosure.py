"""Disclosure: product and version in the greeting or ID, matched against known CVE ranges."""

from __future__ import annotations

import re

from mailfort.scan.advisories import Identification, affected_by, identify
from mailfort.scan.context import Check, HostContext
from mailfort.scan.report import Finding, Severity

__all__ = ["CHECK"]

_ANY_VERSION = re.compile(r"\b\d+\.\d+(?:\.\d+)+\b")
_HIDE = (
    "Send a generic greeting and no version (Dovecot: `login_greeting = ready`, "
    "`imap_id_send =` empty or without `version`; Cyrus: `serverinfo: off`; Exchange: "
    "Set-ImapSettings -Banner). Version strings let attackers pick exploits."
)


def run(ctx: HostContext) -> list[Finding]:
    findings: list[Finding] = []
    idents: list[tuple[Identification, str]] = []
    seen_ids: set[str] = set()

    def add(finding: Finding) -> None:
        if finding.id not in seen_ids:
            seen_ids.add(finding.id)
            findings.append(finding)

    for obs in ctx.observations:
        greeting = obs.greeting.raw.decode("utf-8", "replace").strip()
        ident = identify(greeting)
        if _ANY_VERSION.search(greeting):
            add(
                Finding(
                    id="version-in-greeting",
                    severity=Severity.LOW,
                    title="Server version disclosed in the greeting",
                    evidence=f"port {obs.port}: S: {greeting}",
                    remediation=_HIDE,
                    port=obs.port,
                )
            )
        if ident is not None:
            idents.append((ident, f"port {obs.port} greeting: {greeting}"))
        if obs.id_fields:
            rendered = " ".join(f'"{k}" "{v}"' for k, v in obs.id_fields.items())
            name = obs.id_fields.get("name") or ""
            version = obs.id_fields.get("version")
            if version:
                add(
                    Finding(
                        id="version-in-id",
                        severity=Severity.LOW,
                        title="Server version disclosed in the ID response",
                        evidence=f"port {obs.port}: * ID ({rendered})",
                        remediation=_HIDE,
                        references=("RFC 2971 §3.3",),
                        port=obs.port,
                    )
                )
            id_ident = identify(name, version) if name else None
            if id_ident is not None:
                idents.append((id_ident, f"port {obs.port} ID: ({rendered})"))
    products = {(i.product, i.display) for i, _ in idents}
    for product, display in sorted(products):
        add(
            Finding(
                id="product-disclosed",
                severity=Severity.INFO,
                title=f"Server software identifiable: {display}",
                evidence="\n".join(src for i, src in idents if i.product == product),
                remediation=_HIDE,
            )
        )
    for ident, source in idents:
        advisories = affected_by(ident)
        if not advisories or "known-vulnerable-version" in seen_ids:
            continue
        worst = max((a.severity for a in advisories), key=lambda s: s.rank)
        lines = [
            f"{a.id} ({a.severity.value}): {a.summary} [fixed in {a.fixed}]"
            + (f" (source: {a.source})" if a.source else "")
            for a in advisories
        ]
        add(
            Finding(
                id="known-vulnerable-version",
                severity=worst,
                title=f"{ident.display} {ident.version} is in known-vulnerable version ranges",
                evidence=f"{source}\n"
                + "\n".join(lines)
                + "\n(version-based match: distributions may backport fixes without changing it)",
                remediation=f"Upgrade {ident.display} to a fixed release or confirm the vendor "
                "backported the fixes; stop disclosing the version.",
                references=tuple(sorted({a.id for a in advisories})),
            )
        )
    return findings


CHECK = Check(name="disclosure", description="Product/version disclosure and known CVEs", run=run)
