"""Legacy SASL mechanisms: CRAM-MD5/DIGEST-MD5 imply reversible password storage; NTLM is weak."""

from __future__ import annotations

from mailfort.scan.context import Check, HostContext
from mailfort.scan.report import Finding, Severity

__all__ = ["CHECK"]


def run(ctx: HostContext) -> list[Finding]:
    caps: set[str] = set()
    ports: dict[str, list[int]] = {}
    for obs in ctx.observations:
        for cap in obs.all_capabilities:
            caps.add(cap)
            ports.setdefault(cap, []).append(obs.port)
    findings: list[Finding] = []
    reversible = sorted(c for c in caps if c in ("AUTH=CRAM-MD5", "AUTH=DIGEST-MD5"))
    if reversible:
        findings.append(
            Finding(
                id="legacy-sasl-reversible",
                severity=Severity.LOW,
                title="Challenge-response mechanisms that need reversible password storage",
                evidence="advertised: "
                + ", ".join(
                    f"{c} (ports {', '.join(map(str, sorted(set(ports[c]))))})" for c in reversible
                ),
                remediation="Drop CRAM-MD5/DIGEST-MD5 (Dovecot: `auth_mechanisms = plain`) and "
                "store passwords with a slow one-way hash (Argon2id); offer SCRAM-SHA-256 if "
                "needed.",
                references=("RFC 6331 (DIGEST-MD5 historic)", "RFC 8314"),
            )
        )
    weak = sorted(c for c in caps if c in ("AUTH=NTLM", "AUTH=GSS-SPNEGO", "AUTH=LOGIN-NTLM"))
    if "AUTH=NTLM" in weak:
        findings.append(
            Finding(
                id="legacy-sasl-ntlm",
                severity=Severity.MEDIUM,
                title="NTLM authentication offered",
                evidence="advertised: " + ", ".join(weak),
                remediation="Disable NTLM (relayable, crackable NTLMv1/v2 exchanges); use PLAIN "
                "over TLS, SCRAM or Kerberos/OAuth2 (Dovecot 2.3.13 removed NTLM).",
                references=(
                    "CVE-2020-12673",
                    "https://learn.microsoft.com/windows-server/security/kerberos/ntlm-overview",
                ),
            )
        )
    return findings


CHECK = Check(name="mechanisms", description="Legacy SASL mechanisms", run=run)
