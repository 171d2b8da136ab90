"""SECURITY.md row #15 — mailbox, script and user names reaching the filesystem unsanitised.

CVE-2006-2414 (Dovecot LIST/DELETE ".."), CVE-2007-2231 (Dovecot zlib ".."), CVE-2006-0798
(Macallan CREATE/SELECT/DELETE/RENAME ".."), CVE-2008-5301 (ManageSieve ".."), CVE-2021-40525
and CVE-2022-22931 (Apache James; the fix lacked the delimiter, so ``alice`` prefix-matched
``alice2``).

Safe behaviour: CREATE/RENAME/SELECT/DELETE/APPEND with each hostile name is refused (NO or
BAD); nothing appears outside the server's data directory; no file under it is named after a
mailbox (storage keys derive from ids); ``bob/../alice`` is no way into alice's account and
``alice`` and ``alice2`` stay apart.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.security.wire import Server, quote, serving

HOSTILE = [b"../x", b"INBOX/../../etc", b"/abs", b"a//b", b"a/./b", b"a/../b", b"..", b".",
           b"~bob/INBOX", b"&AC4ALg-", b"&AC4ALg-/x", b"x/&AC4ALg-/y", b"a/" + b"b" * 4096,
           b"c" * 4096, b"", b"/", b"//", b"x/..", b"INBOX/.."]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("mailfort"), users=("alice", "alice2", "bob")) as srv:
        yield srv


def _outside_snapshot(server: Server) -> set[str]:
    root = server.proc.root
    seen = {str(p) for p in root.parent.iterdir()}
    seen |= {str(p) for p in root.iterdir() if p.name != "data"}
    return seen


@pytest.mark.parametrize("name", HOSTILE, ids=[repr(n)[2:-1][:30] or "empty" for n in HOSTILE])
def test_hostile_names_are_refused_everywhere(server: Server, name: bytes) -> None:
    before = _outside_snapshot(server)
    wire = server.login("alice")
    target = quote(name)
    for command in (b"CREATE " + target, b"SELECT " + target, b"DELETE " + target,
                    b"RENAME INBOX " + target, b"RENAME " + target + b" Elsewhere",
                    b"STATUS " + target + b" (MESSAGES)"):
        reply = wire.command("c", command)
        assert reply.status in (b"NO", b"BAD"), (command[:80], reply)
    reply, _ = wire.literal_command("a", b"APPEND " + target + b" ",
                                    b"From: a@example.com\r\n\r\nx\r\n")
    assert reply.status in (b"NO", b"BAD"), reply
    assert wire.is_alive()
    assert _outside_snapshot(server) == before
    assert not Path("/etc/x").exists() and not Path("/abs").exists()


def test_trailing_separator_creates_no_empty_level(server: Server) -> None:
    wire = server.login("bob")
    reply = wire.command("c", b'CREATE "Trailing/"')
    assert reply.status in (b"OK", b"NO", b"BAD"), reply
    listing = wire.command("l", b'LIST "" "*"')
    assert not any(line.rstrip(b'"').endswith(b"Trailing/") for line in listing.untagged)


def test_storage_is_not_named_after_mailboxes(server: Server) -> None:
    token = "Zebra" + secrets.token_hex(6)
    wire = server.login("alice")
    assert wire.command("c", b"CREATE " + quote(token)).is_ok
    reply, _ = wire.literal_command("a", b"APPEND " + quote(token) + b" ",
                                    b"From: a@example.com\r\n\r\nx\r\n")
    assert reply.is_ok, reply
    for dirpath, dirnames, filenames in os.walk(server.proc.data_dir):
        for entry in dirnames + filenames:
            assert token.lower() not in entry.lower(), os.path.join(dirpath, entry)


@pytest.mark.parametrize("username", [b"bob/../alice", b"../alice", b"alice/", b"./alice",
                                      b"alice\\..", b"ALICE/../alice"])
def test_traversal_usernames_cannot_log_in(server: Server, username: bytes) -> None:
    wire = server.tls()
    reply = wire.command("l", b"LOGIN " + quote(username) + b" "
                         + quote(server.passwords["alice"]))
    assert reply.status in (b"NO", b"BAD"), reply


def test_prefix_users_stay_apart(server: Server) -> None:
    token = b"OnlyAlice" + secrets.token_hex(4).encode()
    alice = server.login("alice")
    assert alice.command("c", b"CREATE " + token).is_ok
    alice2 = server.login("alice2")
    listing = alice2.command("l", b'LIST "" "*"')
    assert token not in b"\n".join(listing.untagged)
    assert alice2.command("s", b"SELECT " + token).status == b"NO"
    wrong = server.tls().command("l", b"LOGIN alice2 " + quote(server.passwords["alice"]))
    assert wrong.status == b"NO"


def test_cli_refuses_traversal_usernames(server: Server) -> None:
    before = _outside_snapshot(server)
    for name in ("../evil", "bob/../alice", "/abs", "evil/../../x"):
        result = server.proc.cli("user", "add", name, "--password-stdin",
                                 stdin=b"Tst-password-123456\n", check=False)
        assert result.returncode != 0, name
    assert _outside_snapshot(server) == before
