"""Per-connection login-failure budget (SECURITY.md (d): Stalwart ``imap.auth.max-failures = 3``
then disconnect; Dovecot's ``auth_failure_delay``; row #28's "same reply").

A brute-forcer pools connections to try many passwords each. Safe behaviour with the default
``limits.max_auth_failures_per_connection = 3``: the third failed LOGIN or AUTHENTICATE is
followed by ``* BYE`` and the connection closes; every failure reads the same; a success before
the budget is spent works normally.
"""

from __future__ import annotations

import pytest
from tests.security.wire import ConnectionClosed, Server, plain_sasl, quote

BUDGET = 3


@pytest.mark.parametrize("method", ["login", "authenticate", "mixed"])
def test_third_failure_closes_the_connection(server: Server, method: str) -> None:
    wire = server.tls()
    texts = set()
    for i in range(BUDGET):
        if method == "login" or (method == "mixed" and i % 2 == 0):
            command = b"LOGIN alice " + quote(f"wrong-{i}")
        else:
            command = b"AUTHENTICATE PLAIN " + plain_sasl(b"", b"alice", b"wrong-%d" % i)
        tag = f"a{i}"
        wire.send(tag.encode() + b" " + command + b"\r\n")
        try:
            reply = wire.read_tagged(tag)
        except ConnectionClosed as exc:
            raise AssertionError(f"closed before answering failure {i + 1}: {exc.lines}") from None
        assert reply.status == b"NO", reply
        texts.add(reply.text_after_tag)
    assert len(texts) == 1, texts
    rest = wire.expect_closed()
    assert rest.startswith(b"* BYE"), rest


def test_success_within_the_budget(server: Server) -> None:
    wire = server.tls()
    for i in range(BUDGET - 1):
        assert wire.command(f"a{i}", b"LOGIN alice " + quote(f"wrong-{i}")).status == b"NO"
    login = wire.command("ok", b"LOGIN alice " + quote(server.passwords["alice"]))
    assert login.is_ok, login
    assert wire.command("s", b"SELECT INBOX").is_ok
