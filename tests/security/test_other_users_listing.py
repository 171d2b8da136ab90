"""SECURITY.md row #14 — CVE-2017-14230 (Cyrus < 3.0.4: ``LIST "" "Other Users"`` off-by-one →
uninitialised memory and user-name disclosure); RFC 9051 §11.5: LIST on the Other Users
namespace SHOULD NOT list users who did not grant access.

The first checks run on a server where nobody granted anything: as alice, no LIST pattern and
no namespace-looking name ever shows bob, his mailboxes, or reaches them. The second part
(issue #6) runs on its OWN server where the ``Other Users/`` and ``Shared/`` namespaces are
live -- carol granted alice a mailbox, dave granted carol (not alice) one, and dave's group owns
a shared tree -- so a grant there cannot make the first part pass or fail, and the patterns
are shown to list the real namespace while never naming a user who granted alice nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from tests.security.wire import Server, Wire, quote, serving

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


# ---- issue #6: the real Other Users/ namespace, on a server of its own ---------------------------
GRANTED = b"carol-plans"  # carol -> alice "lr"
NOT_FOR_ALICE = b"dave-diary"  # dave -> carol "lr" only
SHARED_SECRET = b"teamvault"  # Shared/teamvault, owned by $vaultkeepers (dave only)
NAMESPACE_PATTERNS = [b"Other Users", b"Other Users/*", b"Other Users/%", b"Other Users/%/%",
                      b"#shared/*", b"~*", b"*", b"%", b"Shared/*", b"Shared/%", b"*/*",
                      b"Other Users/bob/*", b"Other Users/dave/*", b"Other Users/*/INBOX"]


@pytest.fixture(scope="module")
def granting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("granting"),
                 users=("alice", "bob", "carol", "dave")) as srv:
        for user, box in (("carol", GRANTED), ("dave", NOT_FOR_ALICE), ("bob", b"bob-stuff")):
            wire = srv.login(user)
            assert wire.command("c", b"CREATE " + box).is_ok
            wire.close()
        cli = srv.proc.cli
        cli("acl", "set", "carol/" + GRANTED.decode(), "alice", "lr")
        cli("acl", "set", "dave/" + NOT_FOR_ALICE.decode(), "carol", "lr")
        cli("group", "add", "vaultkeepers")
        cli("group", "member", "add", "vaultkeepers", "dave")
        cli("shared", "create", SHARED_SECRET.decode(), "--owner", "vaultkeepers")
        yield srv


def _listing(wire: Wire, command: bytes, pattern: bytes) -> bytes:
    reply = wire.command("l", command + quote(pattern))
    assert reply.status in (b"OK", b"NO", b"BAD"), reply
    return b"\n".join(reply.untagged).lower()


@pytest.mark.parametrize("pattern", NAMESPACE_PATTERNS)
def test_other_users_namespace_names_only_who_granted(granting: Server,
                                                      pattern: bytes) -> None:
    wire = granting.login("alice")
    for command in (b'LIST "" ', b'LIST "Other Users/" ', b"LSUB \"\" ",
                    b'LIST (SUBSCRIBED) "" '):
        text = _listing(wire, command, pattern)
        for never in (b"bob", b"dave", NOT_FOR_ALICE, SHARED_SECRET, b"vaultkeepers",
                      b"#shared"):
            assert never not in text, (command, pattern, text)
    wire.close()


@pytest.mark.parametrize("pattern", [b"*", b"Other Users/*", b"Other Users/%/%",
                                     b"Other Users/carol/*"])
def test_the_granted_mailbox_is_listed(granting: Server, pattern: bytes) -> None:
    """The namespace is live on this server: the negative checks above are not vacuous."""
    wire = granting.login("alice")
    text = _listing(wire, b'LIST "" ', pattern)
    assert b"other users/carol/" + GRANTED in text, text
    wire.close()


def test_other_users_root_lists_no_user_names(granting: Server) -> None:
    """``LIST "" "Other Users/%"`` (RFC 9051 §11.5) may show carol's level (she granted
    something) but never bob (nothing) nor dave (granted someone else)."""
    wire = granting.login("alice")
    text = _listing(wire, b'LIST "" ', b"Other Users/%")
    assert b"bob" not in text and b"dave" not in text
    wire.close()


@pytest.mark.parametrize("name", [b"Other Users/bob/bob-stuff",
                                  b"Other Users/dave/" + NOT_FOR_ALICE,
                                  b"Shared/" + SHARED_SECRET, b"Other Users/bob",
                                  b"Other Users/nobody/INBOX"])
def test_ungranted_names_answer_like_missing_ones(granting: Server, name: bytes) -> None:
    wire = granting.login("alice")
    missing = wire.command("s", b"STATUS " + quote(b"Other Users/nobody/x") + b" (MESSAGES)")
    reply = wire.command("s", b"STATUS " + quote(name) + b" (MESSAGES)")
    assert (reply.untagged, reply.text_after_tag) == (missing.untagged, missing.text_after_tag)
    assert reply.status == b"NO"
    wire.close()
