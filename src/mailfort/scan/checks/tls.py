"""TLS: protocol versions, cipher suites and the certificate, measured with sslyze.

sslyze speaks IMAP STARTTLS and the legacy protocols that Python's ssl module cannot offer.
Certificate details (expiry, self-signed, key size, signature hash) are read with
``cryptography`` from the chain sslyze received.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import queue
import threading
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa
from sslyze.connection_helpers.opportunistic_tls_helpers import ProtocolWithOpportunisticTlsEnum
from sslyze.plugins.certificate_info.implementation import (
    CertificateInfoExtraArgument,
    CertificateInfoScanResult,
)
from sslyze.plugins.openssl_cipher_suites.implementation import CipherSuitesScanResult
from sslyze.plugins.scan_commands import ScanCommand
from sslyze.scanner.models import (
    ScanCommandsExtraArguments,
    ServerScanRequest,
    ServerScanResult,
    ServerScanStatusEnum,
)
from sslyze.scanner.scan_command_attempt import ScanCommandAttemptStatusEnum
from sslyze.scanner.scanner import Scanner
from sslyze.server_setting import ServerNetworkConfiguration, ServerNetworkLocation

from mailfort.scan.context import Check, HostContext, PortObservation
from mailfort.scan.report import Finding, Severity, Transport

__all__ = ["CHECK", "EXPIRY_WARNING_DAYS"]

EXPIRY_WARNING_DAYS = 30
_TLS_REMEDIATION = (
    "Accept TLS 1.2 and 1.3 only (Dovecot: `ssl_min_protocol = TLSv1.2`; Cyrus: "
    "`tls_versions: tls1_2 tls1_3`; Postfix/others alike)."
)
_CIPHER_REMEDIATION = (
    "Offer only AEAD suites with ECDHE (Mozilla 'intermediate'; Dovecot: `ssl_cipher_list = "
    "ECDHE+AESGCM:ECDHE+CHACHA20`, `ssl_prefer_server_ciphers = yes`)."
)
_TLS_REFS = ("RFC 8996", "RFC 8997", "RFC 9051 §11", "RFC 8314")


def _request(ctx: HostContext, obs: PortObservation) -> ServerScanRequest:
    ip: str | None = None
    try:
        ipaddress.ip_address(ctx.host)
        ip = ctx.host
    except ValueError:
        pass
    location = ServerNetworkLocation(hostname=ctx.host, port=obs.port, ip_address=ip)
    config = ServerNetworkConfiguration(
        tls_server_name_indication=ctx.options.server_name or ctx.host,
        tls_opportunistic_encryption=(
            ProtocolWithOpportunisticTlsEnum.IMAP if obs.transport is Transport.PLAIN else None
        ),
        network_timeout=int(max(1, min(ctx.options.op_timeout_s, 10))),
        network_max_retries=1,
    )
    extra = ScanCommandsExtraArguments(
        certificate_info=CertificateInfoExtraArgument(custom_ca_file=ctx.options.ca_file)
        if ctx.options.ca_file
        else None
    )
    return ServerScanRequest(
        server_location=location,
        network_configuration=config,
        scan_commands={
            ScanCommand.CERTIFICATE_INFO,
            ScanCommand.SSL_2_0_CIPHER_SUITES,
            ScanCommand.SSL_3_0_CIPHER_SUITES,
            ScanCommand.TLS_1_0_CIPHER_SUITES,
            ScanCommand.TLS_1_1_CIPHER_SUITES,
            ScanCommand.TLS_1_2_CIPHER_SUITES,
            ScanCommand.TLS_1_3_CIPHER_SUITES,
        },
        scan_commands_extra_arguments=extra,
    )


def _suites(attempt_result: CipherSuitesScanResult | None) -> list[str]:
    if attempt_result is None:
        return []
    return [s.cipher_suite.name for s in attempt_result.accepted_cipher_suites]


def _protocol_findings(port: int, by_version: dict[str, list[str]]) -> list[Finding]:
    findings: list[Finding] = []
    legacy = [
        ("SSLv2", "ssl2-accepted", Severity.CRITICAL),
        ("SSLv3", "ssl3-accepted", Severity.HIGH),
        ("TLSv1.0", "tls10-accepted", Severity.MEDIUM),
        ("TLSv1.1", "tls11-accepted", Severity.MEDIUM),
    ]
    for name, fid, severity in legacy:
        suites = by_version.get(name, [])
        if suites:
            findings.append(
                Finding(
                    id=fid,
                    severity=severity,
                    title=f"{name} accepted",
                    evidence=f"port {port}: {name} handshake succeeded with {len(suites)} suites, "
                    f"e.g. {', '.join(suites[:5])}",
                    remediation=_TLS_REMEDIATION,
                    references=_TLS_REFS,
                    port=port,
                )
            )
    if any(by_version.values()) and not by_version.get("TLSv1.3"):
        findings.append(
            Finding(
                id="tls13-missing",
                severity=Severity.INFO,
                title="TLS 1.3 not supported",
                evidence=f"port {port}: no TLS 1.3 handshake",
                remediation="Enable TLS 1.3.",
                references=("RFC 9051 §11 (TLS 1.3 RECOMMENDED)",),
                port=port,
            )
        )
    pre13 = [s for v, suites in by_version.items() if v != "TLSv1.3" for s in suites]
    weak_markers = {
        "NULL": "NULL",
        "EXPORT": "EXPORT",
        "RC4": "RC4",
        "_anon_": "anonymous",
        "_DES_": "DES",
        "RC2": "RC2",
    }
    weak = sorted({s for s in pre13 for m in weak_markers if m in s})
    if weak:
        findings.append(
            Finding(
                id="tls-weak-ciphers",
                severity=Severity.HIGH,
                title="Broken cipher suites accepted (NULL/EXPORT/RC4/anonymous/DES)",
                evidence=f"port {port}: " + ", ".join(weak),
                remediation=_CIPHER_REMEDIATION,
                references=("RFC 7465", "RFC 8996"),
                port=port,
            )
        )
    triple_des = sorted({s for s in pre13 if "3DES" in s})
    if triple_des:
        findings.append(
            Finding(
                id="tls-3des-ciphers",
                severity=Severity.MEDIUM,
                title="3DES cipher suites accepted (Sweet32)",
                evidence=f"port {port}: " + ", ".join(triple_des),
                remediation=_CIPHER_REMEDIATION,
                references=("CVE-2016-2183",),
                port=port,
            )
        )
    no_fs = sorted(
        {
            s
            for s in pre13
            if "_DHE_" not in s
            and "_ECDHE_" not in s
            and not s.startswith("SSL_CK_")
            and s not in weak
        }
    )
    if no_fs:
        findings.append(
            Finding(
                id="tls-no-forward-secrecy",
                severity=Severity.LOW,
                title="Cipher suites without forward secrecy accepted",
                evidence=f"port {port}: "
                + ", ".join(no_fs[:12])
                + (f" (+{len(no_fs) - 12} more)" if len(no_fs) > 12 else ""),
                remediation=_CIPHER_REMEDIATION,
                references=("RFC 7525 §4.2",),
                port=port,
            )
        )
    return findings


def _certificate_findings(
    ctx: HostContext, port: int, result: CertificateInfoScanResult
) -> list[Finding]:
    if not result.certificate_deployments:
        return []
    deployment = result.certificate_deployments[0]
    chain = deployment.received_certificate_chain
    leaf = chain[0]
    subject = leaf.subject.rfc4514_string()
    findings: list[Finding] = []
    now = dt.datetime.now(dt.UTC)
    not_after = leaf.not_valid_after_utc
    refs = ("RFC 7817", "RFC 6125")
    if not_after < now:
        findings.append(
            Finding(
                id="cert-expired",
                severity=Severity.HIGH,
                title="Certificate expired",
                evidence=f"port {port}: {subject} expired {not_after.isoformat()}",
                remediation="Renew the certificate (automate with ACME) and reload the server.",
                references=refs,
                port=port,
            )
        )
    elif not_after - now < dt.timedelta(days=EXPIRY_WARNING_DAYS):
        findings.append(
            Finding(
                id="cert-expiring",
                severity=Severity.MEDIUM,
                title=f"Certificate expires within {EXPIRY_WARNING_DAYS} days",
                evidence=f"port {port}: {subject} expires {not_after.isoformat()}",
                remediation="Renew the certificate now and automate renewal (ACME).",
                references=refs,
                port=port,
            )
        )
    # sslyze validates the name too; a name-only failure is reported as a mismatch below.
    trusted = any(
        r.was_validation_successful or "subjectAltName" in (r.validation_error or "")
        for r in deployment.path_validation_results
    )
    if not trusted and ctx.options.ca_file is not None:
        trusted = _pinned(leaf, ctx.options.ca_file)
    self_signed = leaf.issuer == leaf.subject
    if self_signed and not trusted:
        findings.append(
            Finding(
                id="cert-self-signed",
                severity=Severity.MEDIUM,
                title="Self-signed certificate",
                evidence=f"port {port}: issuer = subject = {subject}",
                remediation="Use a certificate from a CA the clients trust (public CA or your "
                "enterprise CA); clients that accept self-signed certificates can be intercepted.",
                references=refs,
                port=port,
            )
        )
    elif not trusted:
        reasons = sorted(
            {r.validation_error or "not trusted" for r in deployment.path_validation_results}
        )
        findings.append(
            Finding(
                id="cert-untrusted",
                severity=Severity.MEDIUM,
                title="Certificate chain not trusted",
                evidence=f"port {port}: {subject}: " + "; ".join(reasons[:3]),
                remediation="Serve the full chain up to a trusted root (Dovecot: ssl_cert with "
                "intermediates appended).",
                references=refs,
                port=port,
            )
        )
    expected = ctx.options.server_name or ctx.host
    if not _matches_name(leaf, expected):
        findings.append(
            Finding(
                id="cert-hostname-mismatch",
                severity=Severity.MEDIUM,
                title="Certificate does not match the host name",
                evidence=f"port {port}: expected {expected}, certificate names {_names(leaf)}",
                remediation="Issue the certificate for the name clients use "
                "(DNS-ID in subjectAltName).",
                references=refs,
                port=port,
            )
        )
    key = leaf.public_key()
    weak_key = None
    if isinstance(key, rsa.RSAPublicKey | dsa.DSAPublicKey) and key.key_size < 2048:
        weak_key = f"{type(key).__name__.replace('PublicKey', '')} {key.key_size} bits"
    elif isinstance(key, ec.EllipticCurvePublicKey) and key.key_size < 224:
        weak_key = f"EC {key.key_size} bits"
    if weak_key:
        findings.append(
            Finding(
                id="cert-weak-key",
                severity=Severity.HIGH,
                title="Weak certificate key",
                evidence=f"port {port}: {weak_key}",
                remediation="Use RSA >= 2048 (3072 recommended) or ECDSA P-256.",
                references=("BSI TR-02102-2",),
                port=port,
            )
        )
    sha1 = [
        c
        for i, c in enumerate(chain)
        if (i == 0 or c.issuer != c.subject)  # a root's own signature does not matter
        and isinstance(c.signature_hash_algorithm, hashes.SHA1 | hashes.MD5)
    ]
    if sha1:
        findings.append(
            Finding(
                id="cert-weak-signature",
                severity=Severity.MEDIUM,
                title="Certificate signed with SHA-1 or MD5",
                evidence=f"port {port}: " + ", ".join(c.subject.rfc4514_string() for c in sha1),
                remediation="Reissue the certificate with a SHA-256 signature.",
                references=("RFC 9155",),
                port=port,
            )
        )
    return findings


def _pinned(leaf: x509.Certificate, ca_file: Path) -> bool:
    """The operator listed this very certificate in --ca-file (e.g. a self-signed test server)."""
    try:
        listed = x509.load_pem_x509_certificates(ca_file.read_bytes())
    except (OSError, ValueError):
        return False
    return any(c.fingerprint(hashes.SHA256()) == leaf.fingerprint(hashes.SHA256()) for c in listed)


def _matches_name(cert: x509.Certificate, name: str) -> bool:
    """RFC 6125 DNS-ID / IP-ID match; wildcards only as the whole left-most label (RFC 7817)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False  # CN-only certificates are not accepted by RFC 7817 clients either
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        ip = None
    if ip is not None:
        return ip in san.get_values_for_type(x509.IPAddress)
    wanted = name.lower().rstrip(".")
    for dns in san.get_values_for_type(x509.DNSName):
        candidate = dns.lower().rstrip(".")
        if candidate == wanted:
            return True
        if candidate.startswith("*.") and "." in wanted:
            if wanted.split(".", 1)[1] == candidate[2:]:
                return True
    return False


def _names(cert: x509.Certificate) -> str:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        return ", ".join(
            str(v)
            for v in san.get_values_for_type(x509.DNSName)
            + [str(i) for i in san.get_values_for_type(x509.IPAddress)]
        )
    except x509.ExtensionNotFound:
        return cert.subject.rfc4514_string()


_VERSION_ATTRS = (
    ("SSLv2", "ssl_2_0_cipher_suites"),
    ("SSLv3", "ssl_3_0_cipher_suites"),
    ("TLSv1.0", "tls_1_0_cipher_suites"),
    ("TLSv1.1", "tls_1_1_cipher_suites"),
    ("TLSv1.2", "tls_1_2_cipher_suites"),
    ("TLSv1.3", "tls_1_3_cipher_suites"),
)


def _results_in_background(scanner: Scanner) -> queue.SimpleQueue[ServerScanResult | None]:
    """sslyze's results, fed from a daemon thread (``None`` when all are in).

    sslyze has no cancellation and its timeouts are per connection, so a server that stalls
    every handshake can keep it busy far past the host's budget. The check waits only until the
    deadline; the abandoned daemon threads never keep the process from exiting.
    """
    out: queue.SimpleQueue[ServerScanResult | None] = queue.SimpleQueue()

    def pump() -> None:
        try:
            for result in scanner.get_results():
                out.put(result)
        finally:
            out.put(None)

    threading.Thread(target=pump, name="sslyze-results", daemon=True).start()
    return out


def run(ctx: HostContext) -> list[Finding]:
    if not ctx.options.tls_checks:
        return []
    targets = [o for o in ctx.observations if o.tls_available]
    if not targets:
        return []
    scanner = Scanner(per_server_concurrent_connections_limit=4, concurrent_server_scans_limit=2)
    requests = [_request(ctx, o) for o in targets]
    port_of = {r.uuid: o.port for r, o in zip(requests, targets, strict=True)}
    scanner.queue_scans(requests)
    results = _results_in_background(scanner)
    findings: list[Finding] = []
    pending = set(port_of.values())
    while True:
        try:
            result = results.get(timeout=max(0.0, ctx.deadline.remaining()))
        except queue.Empty:
            break
        if result is None:
            break
        port = port_of[result.uuid]
        pending.discard(port)
        findings.extend(_result_findings(ctx, port, result))
    for port in sorted(pending):
        findings.append(
            Finding(
                id="tls-scan-incomplete",
                severity=Severity.INFO,
                title="TLS scan did not finish within the host time budget",
                evidence=f"port {port}: sslyze had not finished when the budget ran out",
                remediation="Raise --host-timeout (the server may be slow to handshake).",
                port=port,
            )
        )
    return sorted(findings, key=lambda f: (f.port or 0, f.id))


def _result_findings(ctx: HostContext, port: int, result: ServerScanResult) -> list[Finding]:
    if result.scan_status is not ServerScanStatusEnum.COMPLETED or result.scan_result is None:
        return [
            Finding(
                id="tls-scan-failed",
                severity=Severity.INFO,
                title="TLS scan could not run",
                evidence=f"port {port}: {result.connectivity_status.value}",
                remediation="Check that the port speaks TLS (or IMAP STARTTLS) and retry.",
                port=port,
            )
        ]
    attempts = result.scan_result
    by_version: dict[str, list[str]] = {}
    for label, attr in _VERSION_ATTRS:
        attempt = getattr(attempts, attr)
        if attempt.status is ScanCommandAttemptStatusEnum.COMPLETED:
            by_version[label] = _suites(attempt.result)
    findings = _protocol_findings(port, by_version)
    cert = attempts.certificate_info
    if cert.status is ScanCommandAttemptStatusEnum.COMPLETED and cert.result is not None:
        findings.extend(_certificate_findings(ctx, port, cert.result))
    return findings


CHECK = Check(
    name="tls", description="TLS versions, cipher suites and certificate (sslyze)", run=run
)
