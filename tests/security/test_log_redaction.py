"""Log redaction (STYLE.md §5; SECURITY.md rows #17–#18 and ASVS 16: log every auth outcome, never
its secrets).

Safe behaviour, with the log at DEBUG: after successful and failed LOGINs, AUTHENTICATE PLAIN,
an APPEND, FETCH and SEARCH of a message, the server's log contains no password (nor the base64
of a SASL PLAIN message, which is the password too) and no message content (neither a body nor
a subject token); and it is not simply empty.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator

import pytest
from tests.security.wire import Server, plain_sasl, quote, serving


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    overrides: dict[str, dict[str, str | int | bool]] = {"log": {"level": "DEBUG"}}
    with serving(tmp_path_factory.mktemp("mailfort"), overrides=overrides) as srv:
        yield srv


def test_no_secret_and_no_content_in_the_log(server: Server) -> None:
    alice_pw = server.passwords["alice"].encode()
    wrong_pw = b"Wrong-" + secrets.token_hex(12).encode()
    body_token = b"BodyToken" + secrets.token_hex(12).encode()
    subject_token = b"SubjectToken" + secrets.token_hex(12).encode()
    sasl = plain_sasl(b"", b"bob", server.passwords["bob"].encode())

    failed = server.tls()
    assert failed.command("a", b"LOGIN alice " + quote(wrong_pw)).status == b"NO"
    reply, _ = failed.literal_command("b", b"LOGIN alice ", wrong_pw + b"-literal")
    assert reply.status == b"NO"

    wire = server.login("alice")
    message = (b"From: a@example.com\r\nSubject: " + subject_token + b"\r\n\r\n" + body_token
               + b"\r\n")
    reply, _ = wire.literal_command("c", b"APPEND INBOX ", message)
    assert reply.is_ok
    assert wire.command("d", b"SELECT INBOX").is_ok
    assert wire.command("e", b"FETCH 1:* (BODY[] ENVELOPE)").is_ok
    assert wire.command("f", b"SEARCH BODY " + body_token).is_ok
    assert wire.command("g", b"LOGOUT").is_ok

    bob = server.tls()
    assert bob.command("h", b"AUTHENTICATE PLAIN " + sasl).is_ok
    bob2 = server.tls()
    bob2.send(b"i AUTHENTICATE PLAIN\r\n")
    assert bob2.read_line().startswith(b"+")
    bob2.send(plain_sasl(b"", b"bob", wrong_pw) + b"\r\n")
    assert bob2.read_tagged("i").status == b"NO"

    log = server.log_bytes()
    assert log, "the server logged nothing at all"
    for secret in (alice_pw, wrong_pw, server.passwords["bob"].encode(), sasl,
                   plain_sasl(b"", b"bob", wrong_pw), base64.b64encode(wrong_pw)):
        assert secret not in log, f"secret {secret[:6]!r}... found in the server log"
    for content in (body_token, subject_token):
        assert content not in log, f"message content {content[:12]!r}... found in the log"
