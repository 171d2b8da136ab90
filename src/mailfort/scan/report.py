"""What a scan finds: severities, findings and per-host results. Pure values, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = ["Finding", "HostReport", "PortInfo", "ScanReport", "Severity", "Transport"]


class Severity(Enum):
    """Ordered from least to most severe; compare with :attr:`rank`."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls(text.strip().lower())
        except ValueError:
            raise ValueError(
                f"unknown severity {text!r} (choose from {', '.join(s.value for s in cls)})"
            ) from None


_RANK = {s: i for i, s in enumerate(Severity)}


class Transport(Enum):
    PLAIN = "plain"  # cleartext, may offer STARTTLS
    TLS = "tls"  # implicit TLS (RFC 8314)


@dataclass(frozen=True, slots=True)
class Finding:
    """One weakness on one host: ``id`` is stable (e.g. ``cleartext-login-accepted``)."""

    id: str
    severity: Severity
    title: str
    evidence: str
    remediation: str
    references: tuple[str, ...] = ()
    port: int | None = None


@dataclass(frozen=True, slots=True)
class PortInfo:
    """What a port answered with."""

    port: int
    transport: Transport
    greeting: str
    starttls_offered: bool = False


@dataclass(frozen=True, slots=True)
class HostReport:
    host: str
    reachable: bool
    ports: tuple[PortInfo, ...] = ()
    findings: tuple[Finding, ...] = ()
    error: str | None = None
    duration_s: float = 0.0

    def worst(self) -> Severity | None:
        if not self.findings:
            return None
        return max((f.severity for f in self.findings), key=lambda s: s.rank)


@dataclass(frozen=True, slots=True)
class ScanReport:
    hosts: tuple[HostReport, ...]
    started_at: str = ""
    tool_version: str = ""

    def findings_at_or_above(self, floor: Severity) -> list[tuple[str, Finding]]:
        return [
            (h.host, f) for h in self.hosts for f in h.findings if f.severity.rank >= floor.rank
        ]
