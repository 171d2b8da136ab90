"""Opt-in: brute-force resistance. N wrong passwords for the operator's test account.

Enabled only with ``--test-user`` and ``--bruteforce N``; paced by ``--rate`` (attempts per
second). Reports whether the server slowed down, refused or disconnected, and the guesses per
second actually reached.
"""

from __future__ import annotations

import secrets
import statistics
import time

from mailfort.imap.response_parser import Status
from mailfort.scan.client import ImapProbe, ProbeError
from mailfort.scan.context import Check, HostContext
from mailfort.scan.discovery import open_tls_session, quoted
from mailfort.scan.report import Finding, Severity

__all__ = ["CHECK"]


def run(ctx: HostContext) -> list[Finding]:
    opts = ctx.options
    if not opts.test_user or opts.bruteforce_attempts <= 0:
        return []
    interval_s = 1.0 / opts.rate_per_s if opts.rate_per_s > 0 else 0.0
    latencies: list[float] = []
    reactions: list[str] = []
    probe: ImapProbe | None = None
    started = time.monotonic()
    attempts = 0
    try:
        for i in range(opts.bruteforce_attempts):
            if ctx.deadline.remaining() <= interval_s:
                reactions.append("stopped at the host time budget")
                break
            if probe is None:
                probe = open_tls_session(ctx)
                if probe is None:
                    return []
            t0 = time.monotonic()
            try:
                _, tagged = probe.command(
                    f"LOGIN {quoted(opts.test_user)} {quoted(secrets.token_urlsafe(12))}",
                    log_as=f'LOGIN {quoted(opts.test_user)} "****"',
                )
            except ProbeError as exc:
                reactions.append(f"attempt {i + 1}: connection ended ({exc})")
                probe.close()
                probe = None
                continue
            attempts += 1
            latencies.append(time.monotonic() - t0)
            if tagged.status is Status.OK:
                reactions.append(f"attempt {i + 1}: a random password was ACCEPTED")
                break
            code = tagged.code.name if tagged.code else ""
            if (
                code in ("UNAVAILABLE", "LIMIT", "CONTACTADMIN", "EXPIRED")
                or tagged.status is Status.BAD
            ):
                reactions.append(f"attempt {i + 1}: refused with [{code}] {tagged.text}")
            rest = interval_s - (time.monotonic() - t0)
            if rest > 0:
                time.sleep(rest)  # pacing requested by the operator (--rate), not synchronisation
    finally:
        if probe is not None:
            probe.close()
    elapsed = max(time.monotonic() - started, 1e-6)
    rate = attempts / elapsed
    slowed = False
    if len(latencies) >= 4:
        head = statistics.median(latencies[: len(latencies) // 2])
        tail = statistics.median(latencies[len(latencies) // 2 :])
        slowed = tail > max(2 * head, head + 0.5)
    protected = slowed or any("refused" in r or "connection ended" in r for r in reactions)
    summary = (
        f"{attempts} wrong passwords for the test account in {elapsed:.1f} s "
        f"({rate:.2f} guesses/s, paced at most {opts.rate_per_s:g}/s); "
        f"median latency first half {statistics.median(latencies[: max(1, len(latencies) // 2)]) if latencies else 0:.3f} s, "
        f"last {statistics.median(latencies[len(latencies) // 2 :]) if latencies else 0:.3f} s"
    )
    evidence = summary + ("\n" + "\n".join(reactions[:10]) if reactions else "")
    if any("ACCEPTED" in r for r in reactions):
        return [
            Finding(
                id="bruteforce-random-password-accepted",
                severity=Severity.CRITICAL,
                title="A random password was accepted for the test account",
                evidence=evidence,
                remediation="Investigate the authentication backend.",
            )
        ]
    if protected:
        return [
            Finding(
                id="bruteforce-throttled",
                severity=Severity.INFO,
                title="The server slows down or refuses repeated wrong passwords",
                evidence=evidence,
                remediation="None needed.",
            )
        ]
    return [
        Finding(
            id="bruteforce-not-throttled",
            severity=Severity.MEDIUM,
            title="No slowdown or lockout after repeated wrong passwords",
            evidence=evidence,
            remediation="Throttle failed logins per account and per source (Dovecot: "
            "`auth_failure_delay`, the auth-penalty/anvil service or a policy server; fail2ban), and "
            "lock out or delay exponentially without allowing targeted lockout abuse.",
            references=("OWASP ASVS 5.0 6.3.1", "OWASP Authentication Cheat Sheet"),
        )
    ]


CHECK = Check(name="bruteforce", description="Opt-in brute-force resistance", run=run, opt_in=True)
