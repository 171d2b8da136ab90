"""SECURITY.md row #16 — modified UTF-7 hardening (Dovecot ba0ca241ea out-of-bounds read,
3fbc12d56e encoded NUL rejected, 585017cae2 encoded printable ASCII rejected, 2.4 "invalid
mUTF-7 never matches in LIST"; fuzz target ``fuzz-imap-utf7``).

Non-canonical or NUL-bearing names cause truncation and aliasing: two wire names reaching one
mailbox, which confuses ACLs and clients. Safe behaviour: CREATE with an invalid or
non-canonical encoding is refused (BAD; NO accepted) and creates nothing; a non-canonical
spelling of an existing mailbox never SELECTs it; valid names round-trip byte for byte through
LIST (encode(decode(x)) == x).
"""

from __future__ import annotations

import pytest
from tests.security.wire import Server, quote

from mailfort.imap.grammar.modutf7 import decode_mutf7, encode_mutf7

INVALID = [
    pytest.param(b"a&AGE-", id="encodes-printable-a"),
    pytest.param(b"x&AAA-y", id="encoded-nul"),
    pytest.param(b"&", id="unterminated-empty"),
    pytest.param(b"&Jjo", id="unterminated"),
    pytest.param(b"&AGEAYgBj-", id="all-ascii"),
    pytest.param(b"&2D0-", id="lone-surrogate"),
    pytest.param(b"&U,BTFx-", id="nonzero-padding-bits"),
    pytest.param(b"&ZeU-&ZyyKng-", id="split-shift-sequences"),
    pytest.param(b"&U/BTFw-", id="slash-instead-of-comma"),
    pytest.param(b"&U,BTFw==-", id="base64-padding"),
    pytest.param(b"\xe5\x8f\xb0", id="raw-utf8-without-enable"),
]
VALID = [(b"&-", "&"), (b"&U,BTFw-", "台北"), (b"&ZeVnLIqe-", "日本語"), (b"a&-b", "a&b")]


def _listed(server_reply_lines: tuple[bytes, ...]) -> set[bytes]:
    names = set()
    for line in server_reply_lines:
        if line.startswith(b"* LIST "):
            names.add(line.rsplit(b" ", 1)[-1].strip(b'"'))
    return names


@pytest.mark.parametrize("name", INVALID)
def test_invalid_encodings_are_refused(server: Server, name: bytes) -> None:
    wire = server.login("alice")
    before = _listed(wire.command("l", b'LIST "" "*"').untagged)
    reply = wire.command("c", b"CREATE " + quote(name))
    assert reply.status in (b"BAD", b"NO"), reply
    after = _listed(wire.command("l", b'LIST "" "*"').untagged)
    assert after == before, after - before


@pytest.mark.parametrize(("canonical", "alias"), [
    (b"&U,BTFw-", b"&U,BTFx-"),
    (b"&ZeVnLIqe-", b"&ZeU-&ZyyKng-"),
])
def test_non_canonical_spelling_never_reaches_a_mailbox(server: Server, canonical: bytes,
                                                        alias: bytes) -> None:
    wire = server.login("bob")
    created = wire.command("c", b"CREATE " + quote(canonical))
    assert created.is_ok or created.code == b"ALREADYEXISTS", created
    assert wire.command("s", b"SELECT " + quote(canonical)).is_ok
    for command in (b"SELECT ", b"DELETE ", b"STATUS "):
        tail = b" (MESSAGES)" if command == b"STATUS " else b""
        reply = wire.command("a", command + quote(alias) + tail)
        assert reply.status in (b"BAD", b"NO"), (command, reply)
    assert wire.command("s2", b"SELECT " + quote(canonical)).is_ok  # DELETE did not hit it


def test_valid_names_round_trip_exactly(server: Server) -> None:
    wire = server.login("alice")
    for i, (wire_name, _) in enumerate(VALID):
        reply = wire.command(f"c{i}", b"CREATE " + quote(wire_name))
        assert reply.is_ok, reply
    listed = _listed(wire.command("l", b'LIST "" "*"').untagged)
    for wire_name, _ in VALID:
        assert wire_name in listed, (wire_name, listed)
    for name in listed:  # every stored name is in canonical form
        assert encode_mutf7(decode_mutf7(name)) == name, name
