"""Runs the checks against one host or many: bounded time per host, concurrency across hosts."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import queue
import threading
import time
from collections.abc import Callable, Sequence

from mailfort.scan.checks import (
    authenticated,
    bruteforce,
    cleartext_auth,
    default_credentials,
    disclosure,
    enumeration,
    idle,
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
    idle.CHECK,
)
# sslyze's own timeouts are per connection; the TLS check stops waiting at the host deadline,
# so a host ends within its budget plus this margin for the operation in flight
_GRACE_S = 30.0


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
        if not check.is_enabled(options):
            continue
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
    """Scan hosts concurrently; a host that overruns its budget is reported as timed out.

    Hosts are scanned by daemon threads: a host stuck past its budget (a library call that
    ignores our deadline) is abandoned, and can never keep the process from exiting.
    """
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    results: dict[str, HostReport] = {}
    todo: queue.SimpleQueue[str] = queue.SimpleQueue()
    for host in hosts:
        todo.put(host)
    done: queue.SimpleQueue[tuple[str, HostReport]] = queue.SimpleQueue()
    workers = max(1, min(concurrency, len(hosts)))
    rounds = -(-len(hosts) // workers)  # hosts each worker scans, at most
    grace_s = min(_GRACE_S, max(1.0, options.host_timeout_s / 4))
    overall_s = (options.host_timeout_s + grace_s) * rounds
    for i in range(workers):
        threading.Thread(
            target=_worker, args=(todo, done, options, checks), name=f"scan-{i}", daemon=True
        ).start()
    deadline = time.monotonic() + overall_s
    while len(results) < len(hosts):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            host, report = done.get(timeout=left)
        except queue.Empty:
            break
        results[host] = report
        if on_host_done is not None:
            on_host_done(report)
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
                        evidence=f"no result within {overall_s:.0f} s",
                        remediation="Raise --host-timeout.",
                    ),
                ),
            )
            results[host] = report
            if on_host_done is not None:
                on_host_done(report)
    return ScanReport(
        hosts=tuple(results[h] for h in hosts), started_at=started_at, tool_version=_tool_version()
    )


def _worker(
    todo: queue.SimpleQueue[str],
    done: queue.SimpleQueue[tuple[str, HostReport]],
    options: ScanOptions,
    checks: Sequence[Check],
) -> None:
    while True:
        try:
            host = todo.get_nowait()
        except queue.Empty:
            return
        try:
            report = scan_host(host, options, checks)
        except Exception as exc:  # a bug in one check must not lose the other hosts
            report = HostReport(
                host=host, reachable=False, error=f"internal error: {exc.__class__.__name__}"
            )
        done.put((host, report))


def _tool_version() -> str:
    try:
        return importlib.metadata.version("mailfort")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
