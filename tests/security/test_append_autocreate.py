"""SECURITY.md row #30 (the part that applies before ACLs) — CVE-2019-19783 (Cyrus: Sieve
``fileinto`` auto-create made any mailbox, with admin rights), CVE-2010-3706 / CVE-2008-4577
(Dovecot ACL evaluation).

Secondary creation paths skip the checks CREATE makes. ACLs, Sieve and LMTP ``+folder`` are
later issues; what applies now: APPEND, COPY and MOVE to a missing mailbox answer
``NO [TRYCREATE]`` and create nothing — not even for names CREATE would refuse.
"""

from __future__ import annotations

import pytest
from tests.security.wire import Server, quote

MESSAGE = b"From: a@example.com\r\nSubject: autocreate\r\n\r\nx\r\n"


def _names(lines: tuple[bytes, ...]) -> set[bytes]:
    return {line.rsplit(b" ", 1)[-1].strip(b'"') for line in lines if line.startswith(b"* LIST")}


@pytest.mark.parametrize("target", [b"Ghost", b"Ghost/Child", b"../Ghost", b"~bob/Ghost",
                                    b"Other Users/bob/Ghost"])
def test_no_mailbox_appears_by_side_door(server: Server, target: bytes) -> None:
    wire = server.login("alice")
    before = _names(wire.command("l", b'LIST "" "*"').untagged)
    reply, _ = wire.literal_command("a", b"APPEND " + quote(target) + b" ", MESSAGE)
    assert reply.status in (b"NO", b"BAD"), reply
    if reply.status == b"NO" and b"/.." not in target and not target.startswith((b"..", b"~")):
        assert reply.code in (b"TRYCREATE", b"NONEXISTENT", b"CANNOT", b"NOPERM"), reply
    ok, _ = wire.literal_command("b", b"APPEND INBOX ", MESSAGE)
    assert ok.is_ok
    assert wire.command("s", b"SELECT INBOX").is_ok
    for command in (b"COPY 1 ", b"MOVE 1 ", b"UID COPY 1:* ", b"UID MOVE 1:* "):
        answer = wire.command("c", command + quote(target))
        assert answer.status in (b"NO", b"BAD"), (command, answer)
    assert _names(wire.command("l", b'LIST "" "*"').untagged) == before


def test_append_to_missing_mailbox_says_trycreate(server: Server) -> None:
    wire = server.login("bob")
    reply, _ = wire.literal_command("a", b"APPEND Nowhere ", MESSAGE)
    assert reply.status == b"NO" and reply.code == b"TRYCREATE", reply
