"""SECURITY.md row #8 — NUL and control characters in strings.

CVE-2019-11500 (Dovecot < 2.3.7.2: NUL in quoted strings → out-of-bounds write), CVE-2011-1929
(Dovecot: NUL in header names), the CVE-2007-5740 class. Safe behaviour: NUL inside a quoted
string or an atom is a syntax error (RFC 9051 §4.3: CHAR excludes %x00) answered with a tagged
BAD, and the session stays usable; a control character in a mailbox name is refused (BAD, or NO
for an invalid name) and never creates a mailbox; a message whose header name contains NUL is
either stored (and FETCH ENVELOPE / BODYSTRUCTURE then work) or refused with NO — never a crash.
"""

from __future__ import annotations

import pytest
from tests.security.wire import Server, quote


@pytest.mark.parametrize("command", [
    pytest.param(b'LOGIN "al\x00ice" "p"', id="quoted-user"),
    pytest.param(b'LOGIN "alice" "p\x00q"', id="quoted-password"),
    pytest.param(b"LOGIN al\x00ice p", id="atom"),
    pytest.param(b"CAPA\x00BILITY", id="command-name"),
])
def test_nul_before_login_is_bad(server: Server, command: bytes) -> None:
    wire = server.tls()
    reply = wire.command("a", command)
    assert reply.status == b"BAD", reply
    assert wire.is_alive()


def test_nul_in_literal_login_is_refused(server: Server) -> None:
    wire = server.tls()
    reply, _ = wire.literal_command("a", b"LOGIN ", b"al\x00ice", b' "p"')
    assert reply.status in (b"BAD", b"NO"), reply
    assert wire.is_alive()


@pytest.mark.parametrize("command", [
    pytest.param(b'SELECT "IN\x00BOX"', id="select-quoted"),
    pytest.param(b"SELECT IN\x00BOX", id="select-atom"),
    pytest.param(b'CREATE "x\x00y"', id="create-nul"),
    pytest.param(b'STATUS "IN\x00BOX" (MESSAGES)', id="status"),
])
def test_nul_after_login_is_bad(server: Server, command: bytes) -> None:
    wire = server.login("alice")
    reply = wire.command("a", command)
    assert reply.status == b"BAD", reply
    assert wire.is_alive()


@pytest.mark.parametrize("name", [b"x\x01y", b"x\x7fy", b"x\x1by"])
def test_control_characters_never_make_a_mailbox(server: Server, name: bytes) -> None:
    wire = server.login("alice")
    reply = wire.command("a", b"CREATE " + quote(name))
    assert reply.status in (b"BAD", b"NO"), reply
    listing = wire.command("b", b'LIST "" "*"')
    assert listing.is_ok
    assert not any(name in line for line in listing.untagged), listing.untagged


def test_message_with_nul_in_a_header_name(server: Server) -> None:
    wire = server.login("alice")
    message = (b"From: a@example.com\r\nSub\x00ject: nul\r\nTo: b@example.com\r\n\r\nbody\r\n")
    reply, _ = wire.literal_command("a", b"APPEND INBOX ", message)
    assert reply.status in (b"OK", b"NO", b"BAD"), reply
    assert wire.is_alive()
    if reply.is_ok:
        assert wire.command("s", b"SELECT INBOX").is_ok
        fetch = wire.command("f", b"FETCH * (ENVELOPE BODYSTRUCTURE)")
        assert fetch.is_ok, fetch
        assert fetch.untagged_with(b"ENVELOPE")


def test_message_with_nul_via_binary_literal(server: Server) -> None:
    """RFC 3516 literal8 (``~{n}``) is how a client sends NUL legitimately."""
    wire = server.login("alice")
    message = b"From: a@example.com\r\nSub\x00ject: nul\r\n\r\nbo\x00dy\r\n"
    wire.send(b"a APPEND INBOX ~{%d}\r\n" % len(message))
    first = wire.read_response()
    if first.startswith(b"+"):
        wire.send(message + b"\r\n")
        reply = wire.read_tagged("a")
        status = reply.status
    else:
        status = first.split()[1]
    assert status in (b"OK", b"NO", b"BAD"), first
    assert wire.is_alive()
    if status == b"OK":
        assert wire.command("s", b"SELECT INBOX").is_ok
        assert wire.command("f", b"FETCH * (ENVELOPE BODYSTRUCTURE)").is_ok
