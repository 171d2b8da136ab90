"""The opt-in active checks and the IDLE check against scripted fake servers.

Bounds are generous (a loaded 2-core machine) and counts small: the fakes' timing differences
are many times the thresholds, and equal behaviour has no difference to find.
"""

from __future__ import annotations

import ssl

import pytest

from mailfort.core.secret import Secret
from mailfort.scan.checks import bruteforce, default_credentials, enumeration, idle
from mailfort.scan.checks.bruteforce import Attempts, verdict
from mailfort.scan.context import Check, ScanOptions
from mailfort.scan.report import Finding, HostReport
from mailfort.scan.runner import scan_host

from .fakeserver import Behaviour, FakeImapServer

pytestmark = pytest.mark.timeout(60)

TEST_USER = "probe-account"
ACCOUNTS = {TEST_USER: "the-real-password", "admin": "admin"}


def scan(
    behaviour: Behaviour,
    tls_context: ssl.SSLContext,
    checks: tuple[Check, ...],
    **options: object,
) -> tuple[HostReport, FakeImapServer]:
    with FakeImapServer(behaviour, tls_context) as server:
        opts = ScanOptions(
            ports=(server.port,),
            tls_checks=False,
            host_timeout_s=40,
            op_timeout_s=5,
            **options,  # type: ignore[arg-type]
        )
        return scan_host("127.0.0.1", opts, checks), server


def by_id(report: HostReport) -> dict[str, Finding]:
    return {f.id: f for f in report.findings}


# --- user enumeration -----------------------------------------------------------------------


def test_enumeration_by_reply_text(server_tls_context: ssl.SSLContext) -> None:
    behaviour = Behaviour(
        accounts=ACCOUNTS,
        wrong_password_reply=b"NO [AUTHENTICATIONFAILED] Wrong password",
        unknown_user_reply=b"NO [AUTHENTICATIONFAILED] No such user",
    )
    report, server = scan(
        behaviour,
        server_tls_context,
        (enumeration.CHECK,),
        test_user=TEST_USER,
        enumeration=True,
        rate_per_s=50,
    )
    found = by_id(report)
    assert set(found) == {"user-enumeration-response"}
    evidence = found["user-enumeration-response"].evidence
    assert "Wrong password" in evidence and "No such user" in evidence
    # both kinds of user were tried, and only over TLS
    logins = [line for line in server.received if b" LOGIN " in line]
    assert any(TEST_USER.encode() in line for line in logins)
    assert any(b'"mfscan-' in line for line in logins)
    assert server.tls_handshakes >= 2  # discovery's and the check's own session


def test_enumeration_by_timing(server_tls_context: ssl.SSLContext) -> None:
    behaviour = Behaviour(accounts=ACCOUNTS, existing_user_delay_s=0.25)
    report, _ = scan(
        behaviour,
        server_tls_context,
        (enumeration.CHECK,),
        test_user=TEST_USER,
        enumeration=True,
        rate_per_s=50,
    )
    found = by_id(report)
    assert set(found) == {"user-enumeration-timing"}
    assert "existing" in found["user-enumeration-timing"].evidence


def test_no_enumeration_when_text_and_timing_match(server_tls_context: ssl.SSLContext) -> None:
    report, _ = scan(
        Behaviour(accounts=ACCOUNTS),
        server_tls_context,
        (enumeration.CHECK,),
        test_user=TEST_USER,
        enumeration=True,
        rate_per_s=50,
    )
    assert report.reachable and report.findings == ()


def test_enumeration_needs_the_opt_in(server_tls_context: ssl.SSLContext) -> None:
    behaviour = Behaviour(accounts=ACCOUNTS, unknown_user_reply=b"NO No such user")
    report, server = scan(behaviour, server_tls_context, (enumeration.CHECK,), test_user=TEST_USER)
    assert report.findings == ()
    assert not [line for line in server.received if b" LOGIN " in line]


# --- brute force ----------------------------------------------------------------------------


def test_bruteforce_without_throttling_is_a_finding(server_tls_context: ssl.SSLContext) -> None:
    report, server = scan(
        Behaviour(accounts=ACCOUNTS),
        server_tls_context,
        (bruteforce.CHECK,),
        test_user=TEST_USER,
        bruteforce_attempts=6,
        rate_per_s=20,
    )
    finding = by_id(report)["bruteforce-not-throttled"]
    assert "6 wrong passwords" in finding.evidence and "guesses/s" in finding.evidence
    logins = [line for line in server.received if b" LOGIN " in line]
    assert len(logins) == 6
    assert all(ACCOUNTS[TEST_USER].encode() not in line for line in logins)


def test_bruteforce_delayed_failures_count_as_resisting(
    server_tls_context: ssl.SSLContext,
) -> None:
    report, _ = scan(
        Behaviour(accounts=ACCOUNTS, existing_user_delay_s=1.2),
        server_tls_context,
        (bruteforce.CHECK,),
        test_user=TEST_USER,
        bruteforce_attempts=2,
        rate_per_s=20,
    )
    finding = by_id(report)["bruteforce-throttled"]
    assert "each failure delayed" in finding.evidence


def test_bruteforce_lockout_reply_counts_as_resisting(server_tls_context: ssl.SSLContext) -> None:
    behaviour = Behaviour(
        accounts=ACCOUNTS, wrong_password_reply=b"NO [UNAVAILABLE] Account temporarily locked"
    )
    report, _ = scan(
        behaviour,
        server_tls_context,
        (bruteforce.CHECK,),
        test_user=TEST_USER,
        bruteforce_attempts=3,
        rate_per_s=20,
    )
    assert "3 attempts refused" in by_id(report)["bruteforce-throttled"].evidence


@pytest.mark.parametrize(
    ("attempts", "outcome"),
    [
        (Attempts((0.01,) * 8, 0.5), "not-throttled"),
        (Attempts((2.0, 2.0, 2.0), 6.0), "resisted"),  # a constant failure delay
        (Attempts((0.01, 0.01, 0.02, 0.01, 1.0, 2.0, 4.0, 8.0), 15.0), "resisted"),  # growing
        (Attempts((0.01, 0.01), 0.1, disconnects=("attempt 3: closed",)), "resisted"),
        (Attempts((0.01,), 0.1, accepted=True), "accepted"),
    ],
)
def test_bruteforce_verdict(attempts: Attempts, outcome: str) -> None:
    assert verdict(attempts)[0] == outcome


# --- default credentials --------------------------------------------------------------------


def test_default_credentials_found_without_showing_passwords(
    server_tls_context: ssl.SSLContext,
) -> None:
    report, server = scan(
        Behaviour(accounts=ACCOUNTS),
        server_tls_context,
        (default_credentials.CHECK,),
        default_credentials=True,
        rate_per_s=50,
    )
    finding = by_id(report)["default-credentials"]
    assert "admin" in finding.evidence and '"admin"' not in finding.evidence
    tried = [line for line in server.received if b" LOGIN " in line]
    assert len(tried) == len(default_credentials.DEFAULT_CREDENTIALS)


def test_default_credentials_none_accepted(server_tls_context: ssl.SSLContext) -> None:
    report, _ = scan(
        Behaviour(accounts={TEST_USER: "x"}),
        server_tls_context,
        (default_credentials.CHECK,),
        default_credentials=True,
        rate_per_s=50,
    )
    assert report.findings == ()


# --- IDLE -----------------------------------------------------------------------------------


def idle_scan(
    behaviour: Behaviour, tls_context: ssl.SSLContext, wait_s: float
) -> tuple[HostReport, FakeImapServer]:
    return scan(
        behaviour,
        tls_context,
        (idle.CHECK,),
        auth_user=TEST_USER,
        auth_password=Secret(ACCOUNTS[TEST_USER]),
        idle_wait_s=wait_s,
    )


def test_idle_dropped_within_the_probe_is_a_finding(server_tls_context: ssl.SSLContext) -> None:
    report, _ = idle_scan(
        Behaviour(accounts=ACCOUNTS, idle_drop_after_s=1.0), server_tls_context, wait_s=10
    )
    finding = by_id(report)["idle-dropped-early"]
    assert "BYE idle timeout" in finding.evidence
    assert "RFC 9051 §5.4" in finding.references
    assert report.duration_s < 8  # ended when the server dropped it, not at the probe's end
    assert ACCOUNTS[TEST_USER] not in finding.evidence


def test_idle_kept_through_the_probe(server_tls_context: ssl.SSLContext) -> None:
    report, server = idle_scan(Behaviour(accounts=ACCOUNTS), server_tls_context, wait_s=1.0)
    assert set(by_id(report)) == {"idle-survived-probe"}
    assert b"DONE" in server.received  # the client ended IDLE itself


def test_idle_accepted_without_probe(server_tls_context: ssl.SSLContext) -> None:
    report, _ = idle_scan(Behaviour(accounts=ACCOUNTS), server_tls_context, wait_s=0)
    assert set(by_id(report)) == {"idle-accepted"}


def test_idle_refused(server_tls_context: ssl.SSLContext) -> None:
    report, _ = idle_scan(
        Behaviour(accounts=ACCOUNTS, idle_supported=False), server_tls_context, wait_s=1.0
    )
    assert set(by_id(report)) == {"idle-not-supported"}
