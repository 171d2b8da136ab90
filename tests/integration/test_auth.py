"""Greeting, capabilities, STARTTLS, LOGIN and AUTHENTICATE PLAIN over real sockets."""

from __future__ import annotations

import base64
import re

from tests.conftest import Account, RunningServer
from tests.integration.conftest import connect_tls, quote
from tests.integration.imapwire import WireClient

BASE_CAPS = ("IMAP4rev1 IMAP4rev2 IDLE UIDPLUS MOVE LITERAL+ NAMESPACE ENABLE ID UNSELECT "
             "SPECIAL-USE CHILDREN LIST-EXTENDED LIST-STATUS STATUS=SIZE ESEARCH SEARCHRES "
             "BINARY ACL RIGHTS=kxte QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE").split()


def _caps(line: bytes) -> list[str]:
    m = re.search(rb"CAPABILITY ([^\]\r]*)", line)
    assert m, line
    return m.group(1).decode().split()


def plain(server: RunningServer) -> WireClient:
    return WireClient("127.0.0.1", server.imap_port)


def test_plain_greeting_offers_starttls_and_no_auth(server: RunningServer) -> None:
    w = plain(server)
    greeting = w.readline()
    assert greeting.startswith(b"* OK [CAPABILITY ") and greeting.endswith(b"] Mailfort ready\r\n")
    assert _caps(greeting) == BASE_CAPS + ["STARTTLS", "LOGINDISABLED"]
    assert not re.search(rb"\d+\.\d+", greeting), "a version number in the greeting"
    w.close()


def test_tls_greeting_offers_auth_plain(server: RunningServer) -> None:
    w = connect_tls(server)
    resp = w.command(b"a", b"CAPABILITY")
    # Without a bearer-token verifier (this fixture has no login service) PLAIN and LOGIN only;
    # tests/integration/test_account_security.py pins the full list.
    assert _caps(resp[0]) == BASE_CAPS + ["SASL-IR", "AUTH=PLAIN", "AUTH=LOGIN"]
    w.close()


def test_id_discloses_no_version(server: RunningServer) -> None:
    w = connect_tls(server)
    resp = w.command(b"a", b'ID ("name" "test" "version" "1.0")')
    assert resp == [b'* ID ("name" "Mailfort")\r\n', b"a OK ID completed\r\n"]
    w.close()


def test_login_before_tls_is_privacy_required(server: RunningServer, account: Account) -> None:
    w = plain(server)
    w.readline()
    resp = w.command(b"a", b"LOGIN " + quote(account.username) + b" " + quote(account.password))
    assert resp[-1].startswith(b"a NO [PRIVACYREQUIRED]")
    pw = base64.b64encode(b"\0" + account.username.encode() + b"\0" + account.password.encode())
    resp = w.command(b"b", b"AUTHENTICATE PLAIN " + pw)
    assert resp[-1].startswith(b"b NO [PRIVACYREQUIRED]")
    # still not logged in
    assert w.command(b"c", b"SELECT INBOX")[-1].startswith(b"c BAD")
    w.close()


def test_starttls_then_login(server: RunningServer, account: Account) -> None:
    w = plain(server)
    w.readline()
    assert w.command(b"a", b"STARTTLS") == [b"a OK Begin TLS negotiation now\r\n"]
    w.starttls(server.client_context())
    resp = w.command(b"b", b"CAPABILITY")
    caps = _caps(resp[0])
    assert "STARTTLS" not in caps and "LOGINDISABLED" not in caps and "AUTH=PLAIN" in caps
    assert w.command(b"c", b"STARTTLS")[-1].startswith(b"c BAD")
    resp = w.command(b"d", b"LOGIN " + quote(account.username) + b" " + quote(account.password))
    assert resp[-1].startswith(b"d OK [CAPABILITY ")
    assert _caps(resp[-1]) == BASE_CAPS
    w.close()


def test_starttls_injection_is_discarded(server: RunningServer, account: Account) -> None:
    w = plain(server)
    w.readline()
    w.send(b"a STARTTLS\r\nb LOGIN " + quote(account.username) + b" "
           + quote(account.password) + b"\r\nc CAPABILITY\r\n")
    assert w.readline() == b"a OK Begin TLS negotiation now\r\n"
    w.starttls(server.client_context())
    resp = w.command(b"d", b"NOOP")
    assert resp == [b"d OK NOOP completed\r\n"], resp
    # the injected LOGIN did not run: still not authenticated
    assert w.command(b"e", b"SELECT INBOX")[-1].startswith(b"e BAD")
    w.close()


def test_authenticate_plain_sasl_ir(server: RunningServer, account: Account) -> None:
    w = connect_tls(server)
    ir = base64.b64encode(b"\0" + account.username.encode() + b"\0" + account.password.encode())
    resp = w.command(b"a", b"AUTHENTICATE PLAIN " + ir)
    assert resp[-1].startswith(b"a OK [CAPABILITY ")
    w.close()


def test_authenticate_plain_continuation(server: RunningServer, account: Account) -> None:
    w = connect_tls(server)
    w.send(b"a AUTHENTICATE PLAIN\r\n")
    assert w.readline() == b"+ \r\n"
    ir = base64.b64encode(account.username.encode() + b"\0" + account.username.encode()
                          + b"\0" + account.password.encode())
    w.send(ir + b"\r\n")
    assert w.until_tagged(b"a")[-1].startswith(b"a OK")
    w.close()


def test_authenticate_cancel_and_bad_authzid(server: RunningServer, account: Account) -> None:
    w = connect_tls(server)
    w.send(b"a AUTHENTICATE PLAIN\r\n")
    assert w.readline() == b"+ \r\n"
    w.send(b"*\r\n")
    assert w.until_tagged(b"a")[-1].startswith(b"a BAD")
    ir = base64.b64encode(b"root\0" + account.username.encode() + b"\0"
                          + account.password.encode())
    resp = w.command(b"b", b"AUTHENTICATE PLAIN " + ir)
    assert resp[-1].startswith(b"b NO [AUTHORIZATIONFAILED]")
    assert w.command(b"c", b"AUTHENTICATE CRAM-MD5")[-1].startswith(b"c NO")
    w.close()


def test_failed_logins_then_bye(server: RunningServer, account: Account) -> None:
    w = connect_tls(server)
    limit = server.settings.limits.max_auth_failures_per_connection
    for i in range(limit - 1):
        tag = b"t%d" % i
        resp = w.command(tag, b"LOGIN " + quote(account.username) + b' "wrong"')
        assert resp == [tag + b" NO [AUTHENTICATIONFAILED] Authentication failed\r\n"]
    resp = w.command(b"u", b'LOGIN "nobody-such" "wrong"')
    assert resp == [b"u NO [AUTHENTICATIONFAILED] Authentication failed\r\n"]
    assert w.readline().startswith(b"* BYE ")
    try:
        extra = w.readline()
    except (EOFError, OSError):
        extra = b""
    assert extra == b""
    w.close()


def test_logout(server: RunningServer, account: Account) -> None:
    w = connect_tls(server)
    resp = w.command(b"a", b"LOGOUT")
    assert resp == [b"* BYE Logging out\r\n", b"a OK LOGOUT completed\r\n"]
    w.close()
