"""The scanner against a private Dovecot: weak profile -> exactly the expected findings,
hardened profile -> nothing above info (precision and recall 1.0 on these fixtures).

TLS 1.0/1.1 can be enabled on this Debian OpenSSL 3.0 with `ssl_min_protocol = TLSv1` and
`@SECLEVEL=0` in the cipher string. 3DES, RC4, EXPORT and NULL suites are not available from its
default provider, so the "weak ciphers" this fixture can show are anonymous (ECDH_anon) and
static-RSA (no forward secrecy) suites.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mailfort.scan.context import ScanOptions
from mailfort.scan.report import HostReport, Severity
from mailfort.scan.runner import scan_host

from .dovecot import run_dovecot

pytestmark = [pytest.mark.dovecot, pytest.mark.timeout(240)]

PER_TLS_PORT = {
    "cert-expired",
    "cert-self-signed",
    "tls10-accepted",
    "tls11-accepted",
    "tls-weak-ciphers",
    "tls-no-forward-secrecy",
}
CLEARTEXT_PORT = {
    "cleartext-login-accepted",
    "cleartext-authenticate-accepted",
    "plaintext-sasl-before-tls",
}
HOST_WIDE = {"version-in-id", "known-vulnerable-version", "product-disclosed"}


def _scan(root: Path, hardened: bool) -> tuple[HostReport, int, int]:
    with run_dovecot(root, hardened=hardened) as d:
        options = ScanOptions(
            ports=(d.imap_port, d.imaps_port),
            ca_file=d.ca_file,
            host_timeout_s=180,
            op_timeout_s=10,
        )
        return scan_host(d.host, options), d.imap_port, d.imaps_port


@pytest.fixture(scope="module")
def weak(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HostReport, int, int]]:
    yield _scan(tmp_path_factory.mktemp("dovecot-weak"), hardened=False)


@pytest.fixture(scope="module")
def hardened(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HostReport, int, int]]:
    yield _scan(tmp_path_factory.mktemp("dovecot-hardened"), hardened=True)


def test_weak_dovecot_yields_exactly_the_expected_findings(
    weak: tuple[HostReport, int, int],
) -> None:
    report, imap, imaps = weak
    assert report.reachable
    got = {(f.id, f.port) for f in report.findings if f.id not in HOST_WIDE}
    expected = {(i, p) for i in PER_TLS_PORT for p in (imap, imaps)}
    expected |= {(i, imap) for i in CLEARTEXT_PORT}
    assert got == expected
    assert {f.id for f in report.findings if f.id in HOST_WIDE} == HOST_WIDE


def test_weak_dovecot_evidence_and_severity(weak: tuple[HostReport, int, int]) -> None:
    report, imap, _ = weak
    by_id = {f.id: f for f in report.findings}
    assert by_id["cleartext-login-accepted"].severity is Severity.HIGH
    assert "AUTHENTICATIONFAILED" in by_id["cleartext-login-accepted"].evidence
    assert (
        '"version" "2.3.19.1"' in by_id["version-in-id"].evidence
        or "2.3.19" in by_id["version-in-id"].evidence
    )
    vuln = by_id["known-vulnerable-version"]
    assert "CVE-2022-30550" in vuln.references
    assert "anon" in by_id["tls-weak-ciphers"].evidence
    assert "ssl_min_protocol" in by_id["tls10-accepted"].remediation


def test_hardened_dovecot_has_nothing_above_info(hardened: tuple[HostReport, int, int]) -> None:
    report, _, _ = hardened
    assert report.reachable and len(report.ports) == 2
    above = [
        (f.id, f.port, f.evidence) for f in report.findings if f.severity.rank > Severity.INFO.rank
    ]
    assert above == []
