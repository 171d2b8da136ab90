"""What every check receives: the target, the operator's options and what discovery saw."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mailfort.core.secret import Secret
from mailfort.imap.response_parser import Greeting
from mailfort.scan.client import Deadline, StartTlsResult
from mailfort.scan.report import Finding, Transport

__all__ = ["Check", "HostContext", "PLAIN_PORTS", "PortObservation", "ScanOptions", "TLS_PORTS"]

TLS_PORTS = frozenset({993})  # implicit TLS (RFC 8314)
PLAIN_PORTS = frozenset({143})  # cleartext, possibly with STARTTLS


@dataclass(frozen=True, slots=True)
class ScanOptions:
    """Everything the operator chose. Opt-in probes are off unless named explicitly."""

    ports: tuple[int, ...] = (143, 993)
    host_timeout_s: float = 120.0
    op_timeout_s: float = 10.0
    tls_checks: bool = True
    ca_file: Path | None = None
    server_name: str | None = None  # the name the certificate must match (default: the host)
    # opt-in, active checks that send credentials (need a test account the operator names)
    test_user: str | None = None
    bruteforce_attempts: int = 0
    enumeration: bool = False
    default_credentials: bool = False
    rate_per_s: float = 2.0
    # optional authenticated checks
    auth_user: str | None = None
    auth_password: Secret[str] | None = None
    idle_wait_s: float = 0.0


@dataclass(frozen=True, slots=True)
class PortObservation:
    """What one open port answered during discovery."""

    port: int
    transport: Transport
    greeting: Greeting
    caps_before_tls: frozenset[str]
    starttls: StartTlsResult | None
    caps_after_tls: frozenset[str] | None
    id_fields: dict[str, str | None] | None
    transcript: str

    @property
    def is_preauth(self) -> bool:
        return self.greeting.status.value == "PREAUTH"

    @property
    def tls_available(self) -> bool:
        return self.transport is Transport.TLS or (
            self.starttls is not None and self.starttls.upgraded
        )

    @property
    def all_capabilities(self) -> frozenset[str]:
        return self.caps_before_tls | (self.caps_after_tls or frozenset())


@dataclass(frozen=True, slots=True)
class HostContext:
    host: str
    options: ScanOptions
    deadline: Deadline
    observations: tuple[PortObservation, ...]

    def plain_ports(self) -> list[PortObservation]:
        return [o for o in self.observations if o.transport is Transport.PLAIN]


@dataclass(frozen=True, slots=True)
class Check:
    """A registered check: ``run`` returns findings and may open its own connections."""

    name: str
    description: str
    run: Callable[[HostContext], list[Finding]]
    opt_in: bool = False
    enabled_by: Callable[[ScanOptions], bool] | None = None  # for opt-in checks

    def is_enabled(self, options: ScanOptions) -> bool:
        return self.enabled_by is None or self.enabled_by(options)
