"""Known answers for the ACL (RFC 4314) and QUOTA (RFC 9208) commands: each fed whole, byte by
byte, in two halves, and followed by the next command (STYLE.md §8.4)."""

from __future__ import annotations

import pytest

from mailfort.imap import commands as c
from mailfort.imap.connection import CommandReceived
from mailfort.imap.state import State, is_valid_in
from tests.imap.imap_harness import SPLITS, connection_in, feed, state_for

T = "a1"

CASES: list[tuple[bytes, c.Command]] = [
    (b"a1 GETACL INBOX\r\n", c.GetAcl(T, "INBOX")),
    (b'a1 getacl "Shared/sales"\r\n', c.GetAcl(T, "Shared/sales")),
    (b"a1 GETACL {13}\r\nOther Users/b\r\n", c.GetAcl(T, "Other Users/b")),
    (b"a1 GETACL &AOk-t&AOk-\r\n", c.GetAcl(T, "\u00e9t\u00e9")),
    (b"a1 SETACL INBOX bob lrs\r\n", c.SetAcl(T, "INBOX", "bob", "lrs")),
    (b"a1 SETACL INBOX $sales +w\r\n", c.SetAcl(T, "INBOX", "$sales", "+w")),
    (b'a1 SETACL Work anyone "-lr"\r\n', c.SetAcl(T, "Work", "anyone", "-lr")),
    (b'a1 SETACL Work bob ""\r\n', c.SetAcl(T, "Work", "bob", "")),
    (b"a1 SETACL Work -bob r\r\n", c.SetAcl(T, "Work", "-bob", "r")),
    (b"a1 SETACL {4+}\r\nWork {3}\r\nbob {2}\r\nlr\r\n", c.SetAcl(T, "Work", "bob", "lr")),
    (b"a1 DELETEACL Work bob\r\n", c.DeleteAcl(T, "Work", "bob")),
    (b'a1 DELETEACL "Shared/sales" "$team"\r\n', c.DeleteAcl(T, "Shared/sales", "$team")),
    (b"a1 LISTRIGHTS inbox anyone\r\n", c.ListRights(T, "INBOX", "anyone")),
    (b"a1 MYRIGHTS Shared/sales/2024\r\n", c.MyRights(T, "Shared/sales/2024")),
    (b'a1 GETQUOTA ""\r\n', c.GetQuota(T, "")),
    (b'a1 GETQUOTA "Shared/sales"\r\n', c.GetQuota(T, "Shared/sales")),
    (b"a1 GETQUOTAROOT INBOX\r\n", c.GetQuotaRoot(T, "INBOX")),
    (b'a1 GETQUOTAROOT "Other Users/bob"\r\n', c.GetQuotaRoot(T, "Other Users/bob")),
    (b'a1 SETQUOTA "" (STORAGE 512)\r\n', c.SetQuota(T, "", (("STORAGE", 512),))),
    (b'a1 setquota "Shared/sales" (storage 1024 MESSAGE 10)\r\n',
     c.SetQuota(T, "Shared/sales", (("STORAGE", 1024), ("MESSAGE", 10)))),
    (b'a1 SETQUOTA "" ()\r\n', c.SetQuota(T, "", ())),
    (b"a1 SETQUOTA x (MESSAGE 9223372036854775807)\r\n",
     c.SetQuota(T, "x", (("MESSAGE", 2**63 - 1),))),
]


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize(("wire", "expected"), CASES, ids=[w[:40].decode("latin-1")
                                                           for w, _ in CASES])
def test_known_answer(wire: bytes, expected: c.Command, split: str) -> None:
    conn = connection_in(state_for(type(expected)))
    events = feed(conn, wire + b"zz NOOP\r\n", split)
    assert events == [CommandReceived(expected), CommandReceived(c.Noop("zz"))]
    out = conn.data_to_send()
    sync_literals = wire.count(b"}\r\n") - wire.count(b"+}\r\n")
    assert out == b"+ Ready for literal data\r\n" * sync_literals


BAD: list[bytes] = [
    b"a1 GETACL\r\n",
    b"a1 GETACL INBOX extra\r\n",
    b"a1 SETACL INBOX bob\r\n",
    b"a1 SETACL INBOX bob lr x\r\n",
    b"a1 DELETEACL INBOX\r\n",
    b"a1 LISTRIGHTS INBOX\r\n",
    b"a1 MYRIGHTS\r\n",
    b"a1 GETQUOTA\r\n",
    b"a1 GETQUOTAROOT\r\n",
    b'a1 SETQUOTA ""\r\n',
    b'a1 SETQUOTA "" STORAGE 1\r\n',
    b'a1 SETQUOTA "" (STORAGE)\r\n',
    b'a1 SETQUOTA "" (STORAGE -1)\r\n',
    b'a1 SETQUOTA "" (STORAGE 1 )\r\n',
    b'a1 SETQUOTA "" (STORAGE 1\r\n',
    b'a1 SETQUOTA "" (STORAGE 99999999999999999999)\r\n',
    b'a1 SETQUOTA "" (' + b" ".join(b"R%d 1" % i for i in range(17)) + b")\r\n",
    b"a1 SETACL INBOX " + b"x" * 256 + b" lr\r\n",
]


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("wire", BAD, ids=[w[:40].decode("latin-1") for w in BAD])
def test_malformed_is_bad_and_next_command_still_parses(wire: bytes, split: str) -> None:
    conn = connection_in(State.SELECTED)
    events = feed(conn, wire + b"zz NOOP\r\n", split)
    assert events == [CommandReceived(c.Noop("zz"))]
    assert conn.data_to_send().startswith(b"a1 BAD ")


ACL_TYPES = (c.GetAcl, c.SetAcl, c.DeleteAcl, c.ListRights, c.MyRights, c.GetQuota,
             c.GetQuotaRoot, c.SetQuota)


@pytest.mark.parametrize("kind", ACL_TYPES, ids=lambda k: k.__name__)
def test_valid_in_authenticated_and_selected_only(kind: type) -> None:
    sample = next(e for _, e in CASES if type(e) is kind)
    assert is_valid_in(sample, State.AUTHENTICATED)
    assert is_valid_in(sample, State.SELECTED)
    assert not is_valid_in(sample, State.NOT_AUTHENTICATED)


def test_refused_before_login() -> None:
    conn = connection_in(State.NOT_AUTHENTICATED)
    assert feed(conn, b"a1 MYRIGHTS INBOX\r\n") == []
    assert conn.data_to_send().startswith(b"a1 BAD ")
