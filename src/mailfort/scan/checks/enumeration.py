"""Opt-in: user enumeration. Does the reply text or timing differ for unknown users?

Enabled with ``--test-user`` and ``--enumeration``: wrong passwords for the named account and
for random (surely unknown) names, alternated, paced by ``--rate``.
"""

from __future__ import annotations

import secrets
import statistics
import time

from mailfort.scan.client import ProbeError
from mailfort.scan.context import Check, HostContext
from mailfort.scan.discovery import open_tls_session, quoted
from mailfort.scan.report import Finding, Severity

__all__ = ["CHECK", "SAMPLES"]

SAMPLES = 6
_REMEDIATION = (
    "Give unknown users, wrong passwords and locked accounts one reply and one timing "
    "(verify against a dummy hash for unknown users)."
)
_REFS = ("OWASP ASVS 5.0 6.3.8", "RFC 9051 §11 (AUTHENTICATE failures)")


def run(ctx: HostContext) -> list[Finding]:
    opts = ctx.options
    if not opts.test_user or not opts.enumeration:
        return []
    interval_s = 1.0 / opts.rate_per_s if opts.rate_per_s > 0 else 0.0
    texts: dict[bool, set[str]] = {True: set(), False: set()}
    times: dict[bool, list[float]] = {True: [], False: []}
    probe = open_tls_session(ctx)
    if probe is None:
        return []
    try:
        for i in range(2 * SAMPLES):
            known = i % 2 == 0
            user = opts.test_user if known else f"mfscan-{secrets.token_hex(6)}"
            t0 = time.monotonic()
            try:
                _, tagged = probe.command(
                    f"LOGIN {quoted(user)} {quoted(secrets.token_urlsafe(12))}",
                    log_as=f'LOGIN {quoted(user)} "****"',
                )
            except ProbeError:
                probe.close()
                probe = open_tls_session(ctx)
                if probe is None:
                    break
                continue
            times[known].append(time.monotonic() - t0)
            code = f"[{tagged.code.name}] " if tagged.code else ""
            texts[known].add(f"{tagged.status.value} {code}{tagged.text}")
            rest = interval_s - (time.monotonic() - t0)
            if rest > 0:
                time.sleep(rest)  # operator-requested pacing
    finally:
        if probe is not None:
            probe.close()
    findings: list[Finding] = []
    if texts[True] and texts[False] and texts[True] != texts[False]:
        findings.append(
            Finding(
                id="user-enumeration-response",
                severity=Severity.MEDIUM,
                title="Login replies differ for existing and unknown users",
                evidence=f"existing user: {sorted(texts[True])}\n"
                f"unknown users: {sorted(texts[False])}",
                remediation=_REMEDIATION,
                references=_REFS,
            )
        )
    if len(times[True]) >= 3 and len(times[False]) >= 3:
        known_m, unknown_m = statistics.median(times[True]), statistics.median(times[False])
        spread = max(statistics.pstdev(times[True]), statistics.pstdev(times[False]))
        if abs(known_m - unknown_m) > max(0.05, 3 * spread):
            findings.append(
                Finding(
                    id="user-enumeration-timing",
                    severity=Severity.MEDIUM,
                    title="Login timing differs for existing and unknown users",
                    evidence=f"median reply time: existing {known_m * 1000:.0f} ms, unknown "
                    f"{unknown_m * 1000:.0f} ms (spread {spread * 1000:.0f} ms)",
                    remediation=_REMEDIATION,
                    references=_REFS,
                )
            )
    return findings


CHECK = Check(
    name="enumeration",
    description="Opt-in user enumeration",
    run=run,
    opt_in=True,
    enabled_by=lambda o: bool(o.test_user) and o.enumeration,
)
