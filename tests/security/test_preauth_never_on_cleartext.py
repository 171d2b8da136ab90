"""SECURITY.md row #3 — PREAUTH STARTTLS bypass (and NO STARTTLS "tampering", row #4's
greeting half).

CVE-2020-12398 (Thunderbird < 68.9), CVE-2020-14093 (Mutt < 1.14.3), CVE-2014-2567
(Horde_Imap_Client): a ``* PREAUTH`` greeting made clients skip STARTTLS and send mail in
cleartext. RFC 9051 §11: PREAUTH only on a TLS-protected connection.

Safe behaviour: the cleartext listener greets ``* OK [CAPABILITY ... STARTTLS LOGINDISABLED]``,
never PREAUTH; the implicit-TLS listener greets ``* OK`` too (no account is pre-authenticated).
Neither greeting discloses a version (DESIGN.md "no version in greeting").
"""

from __future__ import annotations

import re

from tests.security.wire import Server


def test_cleartext_greeting_is_ok_with_starttls_and_logindisabled(server: Server) -> None:
    wire = server.plain()
    greeting = wire.greeting
    assert greeting.startswith(b"* OK "), greeting
    assert b"PREAUTH" not in greeting.upper()
    assert greeting.startswith(b"* OK [CAPABILITY "), greeting
    caps = greeting.split(b"]", 1)[0].upper().split()
    assert b"STARTTLS" in caps and b"LOGINDISABLED" in caps, greeting
    assert not any(cap.startswith(b"AUTH=") for cap in caps), greeting


def test_tls_greeting_is_not_preauth(server: Server) -> None:
    wire = server.tls()
    assert wire.greeting.startswith(b"* OK"), wire.greeting
    assert b"PREAUTH" not in wire.greeting.upper()


def test_greetings_disclose_no_version(server: Server) -> None:
    for greeting in (server.plain().greeting, server.tls().greeting):
        assert not re.search(rb"\d+\.\d+", greeting), greeting
