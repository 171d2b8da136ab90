"""SECURITY.md row #21 — CVE-2022-30550 (Dovecot < 2.3.20: two passdbs sharing a driver got the
wrong ``username_filter`` → master-user privilege escalation).

Master-user / impersonation login must be off by default. Safe behaviour: bob's credentials do
not open alice's mailbox, neither with the ``victim*master`` LOGIN convention nor with a SASL
PLAIN authorization identity; the refusal is the ordinary ``NO [AUTHENTICATIONFAILED]`` (or
``[AUTHORIZATIONFAILED]``). An authorization identity equal to the authentication identity is
just a normal login.
"""

from __future__ import annotations

import pytest
from tests.security.wire import Server, plain_sasl, quote


@pytest.mark.parametrize("user", [b"alice*bob", b"bob*alice", b"alice%bob", b"alice@bob",
                                  b"alice\tbob", b"bob alice"])
def test_master_user_login_convention_is_not_honoured(server: Server, user: bytes) -> None:
    wire = server.tls()
    reply = wire.command("a", b"LOGIN " + quote(user) + b" " + quote(server.passwords["bob"]))
    assert reply.status in (b"NO", b"BAD"), reply


def test_sasl_authorization_identity_of_another_user_is_refused(server: Server) -> None:
    wire = server.tls()
    reply = wire.command("a", b"AUTHENTICATE PLAIN " + plain_sasl(
        b"alice", b"bob", server.passwords["bob"].encode()))
    assert reply.status == b"NO", reply
    assert reply.code in (b"AUTHENTICATIONFAILED", b"AUTHORIZATIONFAILED"), reply
    assert wire.command("s", b"SELECT INBOX").status == b"BAD"  # still not authenticated


def test_authorization_identity_equal_to_the_user_is_a_normal_login(server: Server) -> None:
    wire = server.tls()
    reply = wire.command("a", b"AUTHENTICATE PLAIN " + plain_sasl(
        b"bob", b"bob", server.passwords["bob"].encode()))
    assert reply.is_ok, reply
