"""PREAUTH greetings: the server logs anyone in before they say a word (RFC 9051 §11)."""

from __future__ import annotations

from mailfort.scan.context import Check, HostContext
from mailfort.scan.report import Finding, Severity, Transport

__all__ = ["CHECK"]


def run(ctx: HostContext) -> list[Finding]:
    findings: list[Finding] = []
    for obs in ctx.observations:
        if not obs.is_preauth:
            continue
        cleartext = obs.transport is Transport.PLAIN
        findings.append(
            Finding(
                id="preauth-cleartext" if cleartext else "preauth-greeting",
                severity=Severity.HIGH if cleartext else Severity.MEDIUM,
                title=(
                    "PREAUTH greeting on a cleartext connection"
                    if cleartext
                    else "PREAUTH greeting: connections are authenticated without credentials"
                ),
                evidence=f"port {obs.port}: S: "
                + obs.greeting.raw.decode("utf-8", "replace").strip(),
                remediation=(
                    "Never pre-authenticate network connections; require LOGIN/AUTHENTICATE over "
                    "TLS. A client that wants TLS must drop a cleartext PREAUTH (CVE-2020-12398), "
                    "so PREAUTH on port 143 lets an attacker skip STARTTLS."
                ),
                references=("RFC 9051 §11.1", "CVE-2020-12398", "CVE-2020-14093"),
                port=obs.port,
            )
        )
    return findings


CHECK = Check(name="preauth", description="PREAUTH greetings", run=run)
