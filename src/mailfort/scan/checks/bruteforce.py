"""Opt-in: brute-force resistance. N wrong passwords for the operator's test account.

Enabled only with ``--test-user`` and ``--bruteforce N``; paced by ``--rate`` (attempts per
second). All guesses go over one TLS connection (a new one if the server hangs up). The
server counts as resisting when it delays each failure (a reply taking at least
``DELAY_FLOOR_S``), slows down as failures pile up, refuses further attempts or disconnects.
The report gives the guesses per second actually reached.
"""

from __future__ import annotations

import secrets
import statistics
import time
from dataclasses import dataclass
from typing import Final

from mailfort.imap.response_parser import Status
from mailfort.scan.client import ImapProbe, ProbeError
from mailfort.scan.context import Check, HostContext
from mailfort.scan.discovery import open_tls_session, quoted
from mailfort.scan.report import Finding, Severity

__all__ = ["CHECK", "DELAY_FLOOR_S", "Attempts", "verdict"]

# A failed login answered this slowly is deliberately delayed (password hashing takes far less)
# and caps one connection at one guess per second.
DELAY_FLOOR_S: Final = 1.0
_REFUSAL_CODES = frozenset({"UNAVAILABLE", "LIMIT", "CONTACTADMIN", "EXPIRED", "ALERT"})


@dataclass(frozen=True, slots=True)
class Attempts:
    """What N wrong passwords produced."""

    latencies_s: tuple[float, ...]  # one per answered attempt
    elapsed_s: float
    refusals: tuple[str, ...] = ()  # attempts refused with a lockout-like reply
    disconnects: tuple[str, ...] = ()  # attempts during which the server hung up or timed out
    accepted: bool = False  # a random password was accepted

    @property
    def rate_per_s(self) -> float:
        return len(self.latencies_s) / max(self.elapsed_s, 1e-6)


def verdict(a: Attempts) -> tuple[str, list[str]]:
    """``"accepted"``, ``"resisted"`` or ``"not-throttled"``, with the reasons seen."""
    if a.accepted:
        return "accepted", ["a random password was accepted"]
    reasons: list[str] = []
    lat = a.latencies_s
    if lat and statistics.median(lat) >= DELAY_FLOOR_S:
        reasons.append(f"each failure delayed (median {statistics.median(lat):.2f} s)")
    if len(lat) >= 4:
        head = statistics.median(lat[: len(lat) // 2])
        tail = statistics.median(lat[len(lat) // 2 :])
        if tail > max(2 * head, head + 0.5):
            reasons.append(f"replies slowed from {head:.2f} s to {tail:.2f} s")
    if a.refusals:
        reasons.append(f"{len(a.refusals)} attempts refused")
    if a.disconnects:
        reasons.append(f"{len(a.disconnects)} disconnects or time-outs")
    return ("resisted" if reasons else "not-throttled"), reasons


def _attempt(ctx: HostContext, n: int) -> Attempts:
    opts = ctx.options
    assert opts.test_user is not None  # noqa: S101 - checked by run()
    interval_s = 1.0 / opts.rate_per_s if opts.rate_per_s > 0 else 0.0
    latencies: list[float] = []
    refusals: list[str] = []
    disconnects: list[str] = []
    probe: ImapProbe | None = None
    started = time.monotonic()
    try:
        for i in range(n):
            if ctx.deadline.remaining() <= interval_s + opts.op_timeout_s:
                break
            if probe is None:
                probe = open_tls_session(ctx)
                if probe is None:
                    break
            t0 = time.monotonic()
            try:
                _, tagged = probe.command(
                    f"LOGIN {quoted(opts.test_user)} {quoted(secrets.token_urlsafe(12))}",
                    log_as=f'LOGIN {quoted(opts.test_user)} "****"',
                )
            except ProbeError as exc:
                disconnects.append(f"attempt {i + 1}: {exc}")
                probe.close()
                probe = None
                continue
            latencies.append(time.monotonic() - t0)
            if tagged.status is Status.OK:
                return Attempts(tuple(latencies), time.monotonic() - started, accepted=True)
            code = tagged.code.name if tagged.code else ""
            if code in _REFUSAL_CODES or tagged.status is Status.BAD:
                refusals.append(f"attempt {i + 1}: {tagged.status.value} [{code}] {tagged.text}")
            rest = interval_s - (time.monotonic() - t0)
            if rest > 0:
                time.sleep(rest)  # pacing requested by the operator (--rate), not synchronisation
    finally:
        if probe is not None:
            probe.close()
    return Attempts(
        tuple(latencies), time.monotonic() - started, tuple(refusals), tuple(disconnects)
    )


def _evidence(a: Attempts, rate_limit: float) -> str:
    lat = a.latencies_s
    lines = [
        f"{len(lat)} wrong passwords answered for the test account in {a.elapsed_s:.1f} s: "
        f"{a.rate_per_s:.2f} guesses/s over one connection (paced at most {rate_limit:g}/s)"
    ]
    if lat:
        lines.append(
            f"reply time median {statistics.median(lat):.3f} s, first {lat[0]:.3f} s, "
            f"last {lat[-1]:.3f} s"
        )
    lines.extend(a.refusals[:5])
    lines.extend(a.disconnects[:5])
    return "\n".join(lines)


def run(ctx: HostContext) -> list[Finding]:
    opts = ctx.options
    if not opts.test_user or opts.bruteforce_attempts <= 0:
        return []
    attempts = _attempt(ctx, opts.bruteforce_attempts)
    if not attempts.latencies_s and not attempts.disconnects:
        return []  # no TLS session could be opened, or no time left
    outcome, reasons = verdict(attempts)
    evidence = _evidence(attempts, opts.rate_per_s)
    if outcome == "accepted":
        return [
            Finding(
                id="bruteforce-random-password-accepted",
                severity=Severity.CRITICAL,
                title="A random password was accepted for the test account",
                evidence=evidence,
                remediation="Investigate the authentication backend.",
            )
        ]
    if outcome == "resisted":
        return [
            Finding(
                id="bruteforce-throttled",
                severity=Severity.INFO,
                title="The server slows down or refuses repeated wrong passwords",
                evidence=evidence + "\n" + "; ".join(reasons),
                remediation="None needed; also limit parallel connections per source.",
            )
        ]
    return [
        Finding(
            id="bruteforce-not-throttled",
            severity=Severity.MEDIUM,
            title="No slowdown or lockout after repeated wrong passwords",
            evidence=evidence,
            remediation="Throttle failed logins per account and per source (Dovecot: "
            "`auth_failure_delay` (default 2 secs) and the anvil auth penalty, a policy "
            "server, fail2ban), and delay exponentially without allowing targeted lockout "
            "abuse.",
            references=("OWASP ASVS 5.0 6.3.1", "OWASP Authentication Cheat Sheet"),
        )
    ]


CHECK = Check(
    name="bruteforce",
    description="Opt-in brute-force resistance",
    run=run,
    opt_in=True,
    enabled_by=lambda o: bool(o.test_user) and o.bruteforce_attempts > 0,
)
