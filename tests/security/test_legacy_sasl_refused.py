"""SECURITY.md row #19 — CVE-2020-12673 (Dovecot NTLM out-of-bounds read), CVE-2020-12674
(Dovecot RPA zero-length assert); Dovecot 2.3.13 then removed NTLM, RPA and SKEY.

Legacy SASL mechanisms come with hand-written binary parsers. Safe behaviour: only modern
mechanisms are advertised (PLAIN, optionally SCRAM-SHA-256(-PLUS)/OAUTHBEARER), only over TLS;
``AUTHENTICATE`` with a legacy mechanism is refused without a continuation and without
disclosing anything (nmap ``imap-ntlm-info`` sends a null NTLMSSP negotiate and reads domain
and host names from the challenge); malformed PLAIN messages get BAD/NO, never a crash.
"""

from __future__ import annotations

import base64

import pytest
from tests.security.wire import ConnectionClosed, Server

# LOGIN (legacy clients; TLS only, like PLAIN) and XOAUTH2 are offered since issue #3.
MODERN = {b"PLAIN", b"LOGIN", b"SCRAM-SHA-256", b"SCRAM-SHA-256-PLUS", b"OAUTHBEARER",
          b"XOAUTH2"}
LEGACY = [b"NTLM", b"RPA", b"SKEY", b"CRAM-MD5", b"DIGEST-MD5", b"GSSAPI", b"KERBEROS_V4",
          b"ANONYMOUS", b"OTP", b"SCRAM-SHA-1", b"X-UNKNOWN", b"plain-but-not"]
# The null NTLMSSP NEGOTIATE message nmap's imap-ntlm-info sends.
NTLM_NEGOTIATE = b"TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAGAbEdAAAADw=="


def test_only_modern_mechanisms_are_advertised(server: Server) -> None:
    wire = server.tls()
    caps = wire.command("a", b"CAPABILITY").untagged_with(b"CAPABILITY")[0].upper().split()
    mechanisms = {cap[5:] for cap in caps if cap.startswith(b"AUTH=")}
    assert b"PLAIN" in mechanisms
    assert mechanisms <= MODERN, mechanisms - MODERN


@pytest.mark.parametrize("mechanism", LEGACY)
def test_legacy_mechanism_refused_without_continuation(server: Server, mechanism: bytes) -> None:
    wire = server.tls()
    wire.send(b"a AUTHENTICATE " + mechanism + b"\r\n")
    first = wire.read_line()
    assert first.startswith(b"a "), f"continuation for {mechanism!r}: {first!r}"
    assert first.split()[1] in (b"NO", b"BAD"), first
    assert wire.is_alive()


def test_ntlm_info_probe_learns_nothing(server: Server) -> None:
    wire = server.tls()
    reply = wire.command("a", b"AUTHENTICATE NTLM " + NTLM_NEGOTIATE)
    assert reply.status in (b"NO", b"BAD"), reply
    assert not reply.continuations, reply
    assert b"TlRMTVNTUAAC" not in b"".join(reply.untagged) + reply.tagged  # no challenge


@pytest.mark.parametrize("response", [
    pytest.param(b"=", id="empty"),
    pytest.param(b"!!!not-base64!!!", id="not-base64"),
    pytest.param(b"YWJj", id="zero-nuls"),
    pytest.param(base64.b64encode(b"a\0b\0c\0d"), id="three-nuls"),
    pytest.param(base64.b64encode(b"\0\0"), id="all-empty"),
    pytest.param(b"YWJ", id="bad-padding"),
    pytest.param(base64.b64encode(b"\0alice\0") + b"====", id="extra-padding"),
])
def test_malformed_plain_messages(server: Server, response: bytes) -> None:
    wire = server.tls()
    reply = wire.command("a", b"AUTHENTICATE PLAIN " + response)
    assert reply.status in (b"NO", b"BAD"), reply
    assert wire.is_alive()


def test_hundred_kilobyte_plain_response(server: Server) -> None:
    """Over the line limit: refused (or the connection closed), never accepted."""
    wire = server.tls()
    wire.send(b"a AUTHENTICATE PLAIN\r\n")
    first = wire.read_line()
    if not first.startswith(b"+"):
        assert first.split()[1] in (b"NO", b"BAD"), first
        return
    blob = base64.b64encode(b"\0alice\0" + b"p" * 75000)
    if not wire.try_send(blob + b"\r\n"):
        return
    try:
        reply = wire.read_tagged("a")
    except ConnectionClosed:
        return
    assert reply.status in (b"NO", b"BAD"), reply
