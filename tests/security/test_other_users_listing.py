"""SECURITY.md row #14 — CVE-2017-14230 (Cyrus < 3.0.4: ``LIST "" "Other Users"`` off-by-one →
uninitialised memory and user-name disclosure); RFC 9051 §11.5: LIST on the Other Users
namespace SHOULD NOT list users who did not grant access.

Shared folders and ACLs are a later issue (#14 proper); what applies now is the isolation that
must already hold: as alice, no LIST pattern and no namespace-looking name ever shows bob, his
mailboxes, or reaches them.
"""

from __future__ import annotations

import secrets

import pytest
from tests.security.wire import Server, quote

PATTERNS = [b"Other Users", b"Other Users/*", b"#shared/*", b"#shared", b"~*", b"*", b"%",
            b"*bob*", b"#user/*", b"/*", b"../*", b"*/*"]


@pytest.fixture(scope="module")
def bob_secret(server: Server) -> bytes:
    name = b"bobsecret-" + secrets.token_hex(4).encode()
    wire = server.login("bob")
    assert wire.command("c", b"CREATE " + name).is_ok
    wire.close()
    return name


@pytest.mark.parametrize("pattern", PATTERNS)
def test_list_never_shows_another_user(server: Server, bob_secret: bytes,
                                       pattern: bytes) -> None:
    wire = server.login("alice")
    for command in (b'LIST "" ', b"LIST ~bob ", b'LIST "Other Users/" ', b"LSUB \"\" "):
        reply = wire.command("l", command + quote(pattern))
        assert reply.status in (b"OK", b"NO", b"BAD"), reply
        text = b"\n".join(reply.untagged).lower()
        assert b"bob" not in text, reply.untagged
        assert bob_secret.lower() not in text


def test_namespace_shows_no_users(server: Server, bob_secret: bytes) -> None:
    wire = server.login("alice")
    reply = wire.command("n", b"NAMESPACE")
    assert reply.is_ok
    assert b"bob" not in b"\n".join(reply.untagged).lower()


@pytest.mark.parametrize("name", [b"~bob/INBOX", b"Other Users/bob/INBOX", b"#user/bob/INBOX",
                                  b"user/bob/INBOX", b"user.bob", b"../bob/INBOX"])
def test_other_users_mailboxes_are_unreachable(server: Server, bob_secret: bytes,
                                               name: bytes) -> None:
    wire = server.login("alice")
    for tail in (b"", b"/" + bob_secret):
        target = quote(name + tail)
        assert wire.command("s", b"SELECT " + target).status in (b"NO", b"BAD")
        assert wire.command("t", b"STATUS " + target + b" (MESSAGES)").status in (b"NO", b"BAD")
