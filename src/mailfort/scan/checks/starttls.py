"""STARTTLS done wrong: missing, command injection, response injection, capabilities after TLS.

Command injection (CVE-2011-0411 class): a command pipelined behind STARTTLS in the same write
must be discarded by the server, not executed inside the TLS session. Response injection: bytes
the server sends after its tagged OK and before the handshake would be read by a naive client
as if they came over TLS. The NO STARTTLS paper (USENIX Security 2021) lists both.
"""

from __future__ import annotations

from mailfort.imap.response_parser import Status, Tagged
from mailfort.scan.client import ImapProbe, ProbeError
from mailfort.scan.context import Check, HostContext, PortObservation
from mailfort.scan.report import Finding, Severity

__all__ = ["CHECK", "INJECTED_TAG"]

INJECTED_TAG = "mfinject"
_NO_STARTTLS_REFS = ("https://nostarttls.secvuln.info/", "RFC 8314")


def _command_injection(ctx: HostContext, obs: PortObservation) -> Finding | None:
    with ImapProbe.open(
        ctx.host, obs.port, deadline=ctx.deadline, op_timeout_s=ctx.options.op_timeout_s
    ) as probe:
        result = probe.starttls(extra=f"{INJECTED_TAG} NOOP\r\n".encode())
        executed_in_clear = f"{INJECTED_TAG} ".encode() in result.injected
        executed_in_tls = False
        if result.upgraded:
            responses, _ = probe.command("NOOP")
            executed_in_tls = any(
                isinstance(r, Tagged) and r.tag == INJECTED_TAG for r in responses
            )
        if not (executed_in_clear or executed_in_tls):
            return None
        where = "inside the TLS session" if executed_in_tls else "in cleartext after STARTTLS"
        return Finding(
            id="starttls-command-injection",
            severity=Severity.HIGH,
            title="STARTTLS command injection: a command pipelined behind STARTTLS was executed",
            evidence=f"port {obs.port}: '{INJECTED_TAG} NOOP' sent in the same write as STARTTLS "
            f"was answered {where}:\n" + probe.evidence(),
            remediation=(
                "Discard the input buffer when STARTTLS is accepted (or close the connection if "
                "it is not empty); upgrade the server (Dovecot >= 2.3.15 for submission, "
                "Cyrus >= 2.4.7). Prefer implicit TLS on 993."
            ),
            references=("CVE-2011-0411", "CVE-2011-1926", "CVE-2021-33515", *_NO_STARTTLS_REFS),
            port=obs.port,
        )


def _findings_for(ctx: HostContext, obs: PortObservation) -> list[Finding]:
    findings: list[Finding] = []
    if "STARTTLS" not in obs.caps_before_tls:
        if not obs.is_preauth:
            findings.append(
                Finding(
                    id="starttls-not-offered",
                    severity=Severity.HIGH,
                    title="Cleartext IMAP without STARTTLS: sessions cannot be protected",
                    evidence=f"port {obs.port} CAPABILITY: "
                    + " ".join(sorted(obs.caps_before_tls)),
                    remediation="Offer STARTTLS on 143 with a valid certificate, or close 143 and "
                    "serve implicit TLS on 993 only (RFC 8314).",
                    references=("RFC 8314", "RFC 9051 §6.2.1"),
                    port=obs.port,
                )
            )
        return findings
    st = obs.starttls
    if st is None:
        return findings
    if st.tagged.status is not Status.OK:
        findings.append(
            Finding(
                id="starttls-refused",
                severity=Severity.HIGH,
                title="STARTTLS is advertised but refused",
                evidence=f"port {obs.port}:\n{obs.transcript}",
                remediation="Configure a certificate for the STARTTLS listener or stop "
                "advertising it; prefer implicit TLS on 993.",
                references=("RFC 9051 §6.2.1",),
                port=obs.port,
            )
        )
        return findings
    if st.injected:
        findings.append(
            Finding(
                id="starttls-response-injection",
                severity=Severity.HIGH,
                title="Bytes sent after the STARTTLS OK, before the TLS handshake",
                evidence=f"port {obs.port}: {len(st.injected)} bytes arrived in cleartext after "
                f"the tagged OK (discarded by the scanner):\n{obs.transcript}",
                remediation=(
                    "The server (or something in the path: a proxy, a middlebox, an attacker) "
                    "injects responses that a vulnerable client reads as if protected by TLS. "
                    "Find the injector; serve implicit TLS on 993."
                ),
                references=("CVE-2020-14954", "CVE-2020-15953", *_NO_STARTTLS_REFS),
                port=obs.port,
            )
        )
    if st.upgraded:
        if not obs.caps_after_tls:
            findings.append(
                Finding(
                    id="capabilities-missing-after-starttls",
                    severity=Severity.MEDIUM,
                    title="No capability list after STARTTLS",
                    evidence=f"port {obs.port}:\n{obs.transcript}",
                    remediation="Answer CAPABILITY inside TLS; clients must discard the "
                    "cleartext list (RFC 9051 §6.2.1).",
                    references=("RFC 9051 §6.2.1",),
                    port=obs.port,
                )
            )
        elif "STARTTLS" in obs.caps_after_tls:
            findings.append(
                Finding(
                    id="starttls-offered-inside-tls",
                    severity=Severity.LOW,
                    title="STARTTLS still advertised after the TLS upgrade",
                    evidence=f"port {obs.port} CAPABILITY inside TLS: "
                    + " ".join(sorted(obs.caps_after_tls)),
                    remediation="Recompute capabilities after STARTTLS.",
                    references=("RFC 9051 §6.2.1",),
                    port=obs.port,
                )
            )
        try:
            injected = _command_injection(ctx, obs)
        except ProbeError:
            injected = None
        if injected is not None:
            findings.append(injected)
    return findings


def run(ctx: HostContext) -> list[Finding]:
    findings: list[Finding] = []
    for obs in ctx.plain_ports():
        if obs.greeting.status is Status.BYE:
            continue
        findings.extend(_findings_for(ctx, obs))
    return findings


CHECK = Check(
    name="starttls",
    description="STARTTLS offered, command and response injection, capabilities after TLS",
    run=run,
)
