"""SECURITY.md row #30 — ACL semantics that must not be got wrong (RFC 4314), and row #14
extended to the real ``Other Users/`` namespace: negative rights refused, ``anyone`` grants,
SETACL add / remove / replace, a grant showing exactly one mailbox of another user, and a
revoked ``l`` hiding it again (answered like a missing mailbox)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from tests.security.wire import Server, quote, serving


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("mailfort"), users=("alice", "bob", "carol")) as srv:
        yield srv


def _box(server: Server, owner: str) -> bytes:
    name = b"box-" + secrets.token_hex(4).encode()
    wire = server.login(owner)
    assert wire.command("c", b"CREATE " + name).is_ok
    wire.close()
    return name


def test_negative_rights_are_refused(server: Server) -> None:
    box = _box(server, "carol")
    wire = server.login("carol")
    reply = wire.command("a", b"SETACL " + box + b" -alice r")
    assert reply.status == b"NO"
    assert b"-alice" not in b"\n".join(wire.command("g", b"GETACL " + box).untagged)


def test_add_remove_replace(server: Server) -> None:
    box = _box(server, "carol")
    wire = server.login("carol")
    assert wire.command("a", b"SETACL " + box + b" alice lr").is_ok
    assert wire.command("a", b"SETACL " + box + b" alice +s").is_ok
    assert wire.command("a", b"SETACL " + box + b" alice -r").is_ok
    acl = b"\n".join(wire.command("g", b"GETACL " + box).untagged)
    assert b" alice ls" in acl
    assert wire.command("a", b"SETACL " + box + b" alice w").is_ok  # replace
    assert b" alice w" in b"\n".join(wire.command("g", b"GETACL " + box).untagged)


def test_anyone_grant_reaches_every_user_and_only_that_mailbox(server: Server) -> None:
    box, hidden = _box(server, "carol"), _box(server, "carol")
    owner = server.login("carol")
    assert owner.command("a", b"SETACL " + box + b" anyone lr").is_ok
    for user in ("alice", "bob"):
        wire = server.login(user)
        listing = b"\n".join(wire.command("l", b'LIST "" *').untagged)
        assert b"Other Users/carol/" + box in listing
        assert hidden not in listing
        assert wire.command("s", b"SELECT " + quote(b"Other Users/carol/" + box)).is_ok
        refused = wire.command("x", b"SETACL " + quote(b"Other Users/carol/" + box)
                               + b" " + user.encode() + b" lrswipkxtea")
        assert refused.status == b"NO"


def test_revoked_lookup_hides_again(server: Server) -> None:
    box = _box(server, "carol")
    owner = server.login("carol")
    owner.command("a", b"SETACL " + box + b" bob l")
    bob = server.login("bob")
    target = quote(b"Other Users/carol/" + box)
    assert bob.command("s", b"SELECT " + target).status == b"NO"  # l without r: NOPERM
    owner.command("d", b"DELETEACL " + box + b" bob")
    gone = bob.command("s", b"SELECT " + target)
    missing = bob.command("s", b"SELECT " + quote(b"Other Users/carol/no-such-box"))
    assert gone.tagged == missing.tagged
    assert gone.tagged.startswith(b"s NO [NONEXISTENT]")
    assert box not in b"\n".join(bob.command("l", b'LIST "" *').untagged)
