"""Runs the checks against one host or many: bounded time per host, concurrency across hosts."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import importlib.metadata
import time
from collections.abc import Callable, Sequence

from mailfort.scan.checks import (
    authenticated,
    bruteforce,
    cleartext_auth,
    default_credentials,
    disclosure,
    enumeration,
    mechanisms,
    ntlm,
    preauth,
    starttls,
    tls,
)
from mailfort.scan.client import Deadline, ProbeError
from mailfort.scan.context import Check, HostContext, ScanOptions
from mailfort.scan.discovery import discover
from mailfort.scan.report import Finding, HostReport, PortInfo, ScanReport, Severity

__all__ = ["CHECKS", "scan_host", "scan_hosts"]

CHECKS: tuple[Check, ...] = (
    preauth.CHECK,
    cleartext_auth.CHECK,
    starttls.CHECK,
    disclosure.CHECK,
    mechanisms.CHECK,
    ntlm.CHECK,
    tls.CHECK,
    bruteforce.CHECK,
    enumeration.CHECK,
    default_credentials.CHECK,
    authenticated.CHECK,
)


def scan_host(host: str, options: ScanOptions, checks: Sequence[Check] = CHECKS) -> HostReport:
    """Scan one host; never raises for network trouble (it is reported instead)."""
    started = time.monotonic()
    deadline = Deadline.after(options.host_timeout_s)
    observations, failures = discover(host, options, deadline)
    if not observations:
        reasons = "; ".join(f"port {p}: {why}" for p, why in sorted(failures.items()))
        return HostReport(
            host=host,
            reachable=False,
            error=reasons or "no ports to scan",
            findings=(
                Finding(
                    id="host-unreachable",
                    severity=Severity.INFO,
                    title="No IMAP service answered",
                    evidence=reasons,
                    remediation="Check the host name, ports and firewalls; nothing was tested.",
                ),
            ),
            duration_s=time.monotonic() - started,
        )
    ctx = HostContext(
        host=host, options=options, deadline=deadline, observations=tuple(observations)
    )
    findings: list[Finding] = []
    skipped: list[str] = []
    for check in checks:
        if deadline.remaining() <= 0:
            skipped.append(check.name)
            continue
        try:
            findings.extend(check.run(ctx))
        except ProbeError as exc:
            skipped.append(f"{check.name} ({exc})")
    if skipped:
        findings.append(
            Finding(
                id="scan-incomplete",
                severity=Severity.INFO,
                title="Some checks did not complete",
                evidence="not completed: " + ", ".join(skipped),
                remediation="Raise --host-timeout or check connectivity, then scan again.",
            )
        )
    ports = tuple(
        PortInfo(
            port=o.port,
            transport=o.transport,
            greeting=o.greeting.raw.decode("utf-8", "replace").strip(),
            starttls_offered="STARTTLS" in o.caps_before_tls,
        )
        for o in observations
    )
    return HostReport(
        host=host,
        reachable=True,
        ports=ports,
        findings=tuple(sorted(findings, key=lambda f: (-f.severity.rank, f.id, f.port or 0))),
        error="; ".join(f"port {p}: {why}" for p, why in sorted(failures.items())) or None,
        duration_s=time.monotonic() - started,
    )


def scan_hosts(
    hosts: Sequence[str],
    options: ScanOptions,
    *,
    concurrency: int = 8,
    on_host_done: Callable[[HostReport], None] | None = None,
    checks: Sequence[Check] = CHECKS,
) -> ScanReport:
    """Scan hosts concurrently; a host that overruns its budget is reported as timed out."""
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    results: dict[str, HostReport] = {}
    grace_s = 30.0  # sslyze's own timeouts are per connection, not per host
    pool = concurrent.futures.ThreadPoolExecutor(
        max_workers=max(1, min(concurrency, len(hosts) or 1))
    )
    try:
        futures = {pool.submit(scan_host, h, options, checks): h for h in hosts}
        overall = options.host_timeout_s * (len(hosts) / max(1, concurrency) + 1) + grace_s
        try:
            for future in concurrent.futures.as_completed(futures, timeout=overall):
                host = futures[future]
                try:
                    report = future.result()
                except Exception as exc:  # a bug in one check must not lose the other hosts
                    report = HostReport(
                        host=host,
                        reachable=False,
                        error=f"internal error: {exc.__class__.__name__}",
                    )
                results[host] = report
                if on_host_done is not None:
                    on_host_done(report)
        except TimeoutError:
            pass
        for host in hosts:
            if host not in results:
                report = HostReport(
                    host=host,
                    reachable=False,
                    error="host time budget exceeded",
                    findings=(
                        Finding(
                            id="scan-incomplete",
                            severity=Severity.INFO,
                            title="Host scan timed out",
                            evidence="",
                            remediation="Raise --host-timeout.",
                        ),
                    ),
                )
                results[host] = report
                if on_host_done is not None:
                    on_host_done(report)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return ScanReport(
        hosts=tuple(results[h] for h in hosts), started_at=started_at, tool_version=_tool_version()
    )


def _tool_version() -> str:
    try:
        return importlib.metadata.version("mailfort")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
