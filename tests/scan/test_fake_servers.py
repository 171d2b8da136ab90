"""Each check against scripted fake servers on 127.0.0.1 (cases no real server here shows)."""

from __future__ import annotations

import ssl

from mailfort.scan.context import ScanOptions
from mailfort.scan.report import HostReport, Severity
from mailfort.scan.runner import scan_host

from .fakeserver import Behaviour, FakeImapServer, ntlm_challenge


def scan(behaviour: Behaviour, tls_context: ssl.SSLContext) -> tuple[HostReport, FakeImapServer]:
    with FakeImapServer(behaviour, tls_context) as server:
        options = ScanOptions(
            ports=(server.port,), tls_checks=False, host_timeout_s=30, op_timeout_s=5
        )
        return scan_host("127.0.0.1", options), server


def ids(report: HostReport, floor: Severity = Severity.LOW) -> set[str]:
    return {f.id for f in report.findings if f.severity.rank >= floor.rank}


def test_well_behaved_server_has_no_findings_above_info(server_tls_context: ssl.SSLContext) -> None:
    report, server = scan(Behaviour(), server_tls_context)
    assert report.reachable
    assert ids(report) == set()
    # the login probe used a random user name and never a real password
    logins = [line for line in server.received if b" LOGIN " in line]
    assert logins and all(b'"mfscan-' in line for line in logins)


def test_starttls_command_injection(server_tls_context: ssl.SSLContext) -> None:
    report, _ = scan(Behaviour(execute_pipelined_after_starttls=True), server_tls_context)
    assert ids(report) == {"starttls-command-injection"}
    (finding,) = report.findings
    assert finding.severity is Severity.HIGH
    assert "mfinject OK" in finding.evidence
    assert "CVE-2011-0411" in finding.references


def test_starttls_response_injection_is_reported_and_not_trusted(
    server_tls_context: ssl.SSLContext,
) -> None:
    injected = b"* CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=LOGIN\r\n"
    report, _ = scan(Behaviour(after_starttls_ok=injected), server_tls_context)
    found = ids(report)
    assert "starttls-response-injection" in found
    # the injected capability list was discarded, never taken as the post-TLS one; the
    # handshake then fails (the bytes were in the way), so nothing else is claimed about TLS
    assert "legacy-sasl-reversible" not in found
    finding = next(f for f in report.findings if f.id == "starttls-response-injection")
    assert "AUTH=LOGIN" in finding.evidence


def test_preauth_on_cleartext(server_tls_context: ssl.SSLContext) -> None:
    report, _ = scan(
        Behaviour(
            greeting=b"* PREAUTH [CAPABILITY IMAP4rev1] logged in as joe\r\n", caps="IMAP4rev1"
        ),
        server_tls_context,
    )
    assert ids(report) == {"preauth-cleartext"}
    assert report.findings[0].severity is Severity.HIGH


def test_ntlm_disclosure(server_tls_context: ssl.SSLContext) -> None:
    challenge = ntlm_challenge(
        {1: "MAIL01", 2: "CORP", 3: "mail01.corp.example", 4: "corp.example"}
    )
    report, _ = scan(
        Behaviour(
            caps="IMAP4rev1 STARTTLS LOGINDISABLED AUTH=NTLM",
            caps_tls="IMAP4rev1 AUTH=PLAIN AUTH=NTLM",
            ntlm_challenge=challenge,
        ),
        server_tls_context,
    )
    assert ids(report) == {"ntlm-info-disclosure", "legacy-sasl-ntlm"}
    finding = next(f for f in report.findings if f.id == "ntlm-info-disclosure")
    for name in ("MAIL01", "mail01.corp.example", "corp.example", "10.0.17763"):
        assert name in finding.evidence


def test_plaintext_login_accepted(server_tls_context: ssl.SSLContext) -> None:
    report, server = scan(
        Behaviour(caps="IMAP4rev1 STARTTLS AUTH=PLAIN AUTH=CRAM-MD5", plaintext_login=True),
        server_tls_context,
    )
    assert ids(report) == {
        "cleartext-login-accepted",
        "cleartext-authenticate-accepted",
        "plaintext-sasl-before-tls",
        "legacy-sasl-reversible",
    }
    login = next(f for f in report.findings if f.id == "cleartext-login-accepted")
    assert login.severity is Severity.HIGH and "AUTHENTICATIONFAILED" in login.evidence
    # the random password never appears in the evidence
    sent = next(line for line in server.received if b" LOGIN " in line).decode()
    password = sent.rsplit(" ", 1)[1].strip('"')
    assert password not in "".join(f.evidence for f in report.findings)


def test_no_starttls_on_cleartext_port(server_tls_context: ssl.SSLContext) -> None:
    report, _ = scan(Behaviour(caps="IMAP4rev1 LOGINDISABLED"), server_tls_context)
    assert ids(report) == {"starttls-not-offered"}


def test_version_in_greeting_matches_cves(server_tls_context: ssl.SSLContext) -> None:
    report, _ = scan(Behaviour(greeting=b"* OK Dovecot 2.3.10 ready.\r\n"), server_tls_context)
    assert ids(report, Severity.INFO) >= {
        "version-in-greeting",
        "known-vulnerable-version",
        "product-disclosed",
    }
    vuln = next(f for f in report.findings if f.id == "known-vulnerable-version")
    assert "CVE-2020-12100" in vuln.references and "CVE-2019-11500" not in vuln.references
    assert vuln.severity is Severity.HIGH


def test_unreachable_port_is_reported_not_fatal() -> None:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    report = scan_host(
        "127.0.0.1", ScanOptions(ports=(port,), tls_checks=False, host_timeout_s=10, op_timeout_s=2)
    )
    assert not report.reachable
    assert [f.id for f in report.findings] == ["host-unreachable"]
    assert report.error and str(port) in report.error
