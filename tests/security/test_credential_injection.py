"""SECURITY.md row #17 — credentials copied into an internal line protocol, a template or SQL.

CVE-2008-1218 (Dovecot: TAB in the password injected ``skip_password_check=1``), CVE-2017-2669
(Dovecot ``%var`` expansion of the user name), CVE-2026-24031 (Dovecot SQL auth bypass and user
enumeration), CVE-2004-1067 (Cyrus user-name canonicalisation off-by-one).

Safe behaviour: every hostile user name / password pair — by LOGIN (sent as literals, so CR, LF
and TAB arrive intact) and by AUTHENTICATE PLAIN — gets exactly the same completion as a plain
unknown user, ``NO [AUTHENTICATIONFAILED] ...``; a NUL (not allowed in an IMAP literal) may get
BAD instead. alice's real password with an injected suffix does not log her in.
"""

from __future__ import annotations

import pytest
from tests.security.wire import Server, Wire, plain_sasl

HOSTILE: list[tuple[bytes, bytes]] = [
    (b"alice", b"x\tmaster_user=root\tskip_password_check=1"),
    (b"alice\tmaster_user=root\tskip_password_check=1", b"x"),
    (b"alice", b"x\r\nb OK"),
    (b"%{home}" * 1000, b"x"),
    (b"%u%d%n%h%{password}", b"%{password}"),
    (b"admin' OR '1'='1", b"' OR '1'='1"),
    (b"alice'--", b"x"),
    (b'alice"; DROP TABLE users; --', b"x"),
    (b"u" * 10240, b"x"),
    (b"alice", b"p" * 10240),
    (b"*", b"*"),
    (b"alice*", b"x"),
    (b"ALICE", b"x"),
]


def _login_literals(wire: Wire, user: bytes, password: bytes) -> bytes:
    wire.send(b"a LOGIN {%d}\r\n" % len(user))
    first = wire.read_line()
    if not first.startswith(b"+"):
        return first
    wire.send(user + b" {%d}\r\n" % len(password))
    second = wire.read_line()
    if not second.startswith(b"+"):
        return second
    wire.send(password + b"\r\n")
    return wire.read_tagged("a").tagged


def _text(completion: bytes) -> bytes:
    return completion.split(b" ", 1)[1]


@pytest.fixture(scope="module")
def reference(server: Server) -> bytes:
    """The completion for an ordinary unknown user."""
    completion = _login_literals(server.tls(), b"nobody-here", b"wrong")
    assert completion.startswith(b"a NO [AUTHENTICATIONFAILED]"), completion
    return _text(completion)


@pytest.mark.parametrize(("user", "password"), HOSTILE,
                         ids=[f"{u[:20]!r}/{p[:20]!r}" for u, p in HOSTILE])
def test_login_with_hostile_credentials(server: Server, reference: bytes, user: bytes,
                                        password: bytes) -> None:
    wire = server.tls()
    assert _text(_login_literals(wire, user, password)) == reference


@pytest.mark.parametrize(("user", "password"), HOSTILE,
                         ids=[f"{u[:20]!r}/{p[:20]!r}" for u, p in HOSTILE])
def test_authenticate_plain_with_hostile_credentials(server: Server, reference: bytes,
                                                     user: bytes, password: bytes) -> None:
    wire = server.tls()
    reply = wire.command("a", b"AUTHENTICATE PLAIN " + plain_sasl(b"", user, password))
    assert reply.text_after_tag == reference, reply


def test_real_password_with_injected_suffix(server: Server, reference: bytes) -> None:
    real = server.passwords["alice"].encode()
    for suffix in (b"\tskip_password_check=1", b"\x00", b"\r\n", b"' OR '1'='1"):
        wire = server.tls()
        completion = _login_literals(wire, b"alice", real + suffix)
        assert completion.startswith(b"a NO") or completion.startswith(b"a BAD"), completion
        if suffix != b"\x00":
            assert _text(completion) == reference


def test_nul_in_user_name(server: Server, reference: bytes) -> None:
    wire = server.tls()
    completion = _login_literals(wire, b"a@b\x00c", b"x")
    assert completion.startswith(b"a BAD") or _text(completion) == reference, completion
    sasl = wire.command("b", b"AUTHENTICATE PLAIN " + plain_sasl(b"", b"alice\x00x", b"y"))
    assert sasl.status in (b"BAD", b"NO"), sasl
