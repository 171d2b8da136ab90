"""The scanner against a private Dovecot: weak profile -> exactly the expected findings,
hardened profile -> nothing above info (precision and recall 1.0 on these fixtures).

TLS 1.0/1.1 can be enabled on this Debian OpenSSL 3.0 with `ssl_min_protocol = TLSv1` and
`@SECLEVEL=0` in the cipher string. 3DES, RC4, EXPORT and NULL suites are not available from its
default provider, so the "weak ciphers" this fixture can show are anonymous (ECDH_anon) and
static-RSA (no forward secrecy) suites.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mailfort.scan.checks import bruteforce, enumeration
from mailfort.scan.context import ScanOptions
from mailfort.scan.report import HostReport, Severity
from mailfort.scan.runner import scan_host

from .dovecot import ACCOUNT, DovecotInstance, run_dovecot

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


def _options(d: DovecotInstance, **extra: object) -> ScanOptions:
    return ScanOptions(
        ports=(d.imap_port, d.imaps_port),
        ca_file=d.ca_file,
        host_timeout_s=180,
        op_timeout_s=10,
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def weak_dovecot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DovecotInstance]:
    with run_dovecot(tmp_path_factory.mktemp("dovecot-weak"), hardened=False) as d:
        yield d


@pytest.fixture(scope="module")
def weak(weak_dovecot: DovecotInstance) -> tuple[HostReport, int, int]:
    d = weak_dovecot
    return scan_host(d.host, _options(d)), d.imap_port, d.imaps_port


@pytest.fixture(scope="module")
def hardened(tmp_path_factory: pytest.TempPathFactory) -> tuple[HostReport, int, int]:
    with run_dovecot(tmp_path_factory.mktemp("dovecot-hardened"), hardened=True) as d:
        return scan_host(d.host, _options(d)), d.imap_port, d.imaps_port


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


# --- opt-in active checks (a named test account) --------------------------------------------

# default credentials are covered by the fake servers: each try costs ~0.5 s against Dovecot
OPT_IN = (bruteforce.CHECK, enumeration.CHECK)


def test_weak_dovecot_opt_in_checks(weak_dovecot: DovecotInstance) -> None:
    """No failure delay and no auth penalty: brute force goes unthrottled; Dovecot gives unknown
    users the same reply and timing."""
    d = weak_dovecot
    options = _options(
        d,
        tls_checks=False,
        test_user=ACCOUNT[0],
        bruteforce_attempts=4,
        enumeration=True,
        rate_per_s=20,
    )
    report = scan_host(d.host, options, OPT_IN)
    found = {f.id: f for f in report.findings}
    assert set(found) == {"bruteforce-not-throttled"}
    finding = found["bruteforce-not-throttled"]
    assert finding.severity is Severity.MEDIUM
    assert "4 wrong passwords" in finding.evidence and "auth_failure_delay" in finding.remediation
    assert ACCOUNT[1] not in finding.evidence


def test_dovecot_auth_failure_delay_resists_brute_force(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    root = tmp_path_factory.mktemp("dovecot-delay")
    with run_dovecot(root, hardened=False, failure_delay_s=2) as d:
        options = _options(
            d, tls_checks=False, test_user=ACCOUNT[0], bruteforce_attempts=2, rate_per_s=20
        )
        report = scan_host(d.host, options, (bruteforce.CHECK,))
    found = {f.id: f for f in report.findings}
    assert set(found) == {"bruteforce-throttled"}
    evidence = found["bruteforce-throttled"].evidence
    assert "each failure delayed" in evidence
    rate = float(evidence.split(" guesses/s", 1)[0].rsplit(" ", 1)[1])
    assert rate < 1.0  # about 0.5 guesses/s with a 2 s delay
