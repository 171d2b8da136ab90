"""SECURITY.md row #4 — NO STARTTLS stripping and capability tampering (striptls
``IMAP.StripFromCapabilities``, ``StripWithError``).

A man in the middle removes STARTTLS or fakes its failure; a server that then accepts LOGIN in
cleartext leaks the password. Safe behaviour on the cleartext port, before TLS: CAPABILITY shows
``STARTTLS`` and ``LOGINDISABLED`` and no ``AUTH=``; LOGIN and AUTHENTICATE are refused
(``NO [PRIVACYREQUIRED]`` or BAD) *without verifying the password* — the reply is the same for
the right and a wrong password, and refusals do not count toward the per-connection failure
budget (so they are no oracle and no lockout lever). After TLS the capabilities change (AUTH=PLAIN,
no STARTTLS); STARTTLS inside TLS is refused.
"""

from __future__ import annotations

from tests.security.wire import Server, plain_sasl, quote


def _caps(reply_lines: tuple[bytes, ...]) -> list[bytes]:
    lines = [line for line in reply_lines if line.upper().startswith(b"* CAPABILITY ")]
    assert len(lines) == 1, reply_lines
    return lines[0].upper().split()[2:]


def test_capabilities_before_tls(server: Server) -> None:
    wire = server.plain()
    caps = _caps(wire.command("a", b"CAPABILITY").untagged)
    assert b"STARTTLS" in caps and b"LOGINDISABLED" in caps
    assert not any(cap.startswith(b"AUTH=") for cap in caps), caps


def test_login_refused_identically_and_without_verifying(server: Server) -> None:
    wire = server.plain()
    right = quote(server.passwords["alice"])
    replies = []
    for i, password in enumerate([right, b'"wrong"', right, b'"wrong"', right]):
        reply = wire.command(f"l{i}", b"LOGIN alice " + password)
        assert reply.status in (b"NO", b"BAD"), reply
        assert reply.code == b"PRIVACYREQUIRED" or reply.status == b"BAD", reply
        replies.append(reply.text_after_tag)
    assert len(set(replies)) == 1, replies  # no oracle: right and wrong password look alike
    # Five refusals and the connection is still open: they did not count as auth failures.
    caps = wire.command("c", b"CAPABILITY")
    assert caps.is_ok


def test_authenticate_refused_before_tls(server: Server) -> None:
    wire = server.plain()
    ir = plain_sasl(b"", b"alice", server.passwords["alice"].encode())
    with_ir = wire.command("a", b"AUTHENTICATE PLAIN " + ir)
    assert with_ir.status in (b"NO", b"BAD"), with_ir
    assert not with_ir.continuations
    wire.send(b"b AUTHENTICATE PLAIN\r\n")
    first = wire.read_line()
    assert first.startswith(b"b "), f"continuation offered before TLS: {first!r}"
    assert first.split()[1] in (b"NO", b"BAD"), first
    assert wire.command("c", b"NOOP").is_ok


def test_capabilities_change_after_starttls_and_login_works(server: Server) -> None:
    wire = server.plain()
    assert wire.command("a", b"STARTTLS").is_ok
    wire.starttls(server.proc.ssl_context())
    caps = _caps(wire.command("b", b"CAPABILITY").untagged)
    assert b"AUTH=PLAIN" in caps
    assert b"STARTTLS" not in caps and b"LOGINDISABLED" not in caps
    again = wire.command("c", b"STARTTLS")
    assert again.status in (b"BAD", b"NO"), again
    login = wire.command("d", b"LOGIN alice " + quote(server.passwords["alice"]))
    assert login.is_ok, login


def test_starttls_refused_on_the_implicit_tls_port(server: Server) -> None:
    wire = server.tls()
    reply = wire.command("a", b"STARTTLS")
    assert reply.status in (b"BAD", b"NO"), reply
    assert wire.command("b", b"NOOP").is_ok


def test_starttls_refused_after_login(server: Server) -> None:
    wire = server.login("alice")
    reply = wire.command("a", b"STARTTLS")
    assert reply.status in (b"BAD", b"NO"), reply
    assert wire.command("b", b"NOOP").is_ok
