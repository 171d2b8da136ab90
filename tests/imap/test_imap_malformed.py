"""Malformed input: every case gets BAD (or NO) with the right tag and fixed text, never an
exception, and the session stays usable. Each fed whole, byte by byte and in halves."""

from __future__ import annotations

import pytest

from mailfort.imap import commands as c
from mailfort.imap.connection import CommandReceived
from mailfort.imap.state import State
from tests.imap.imap_harness import SPLITS, connection_in, feed

SYN = b"a1 BAD Syntax error\r\n"
MBX = b"a1 BAD Invalid mailbox name\r\n"

# (state, input, exact reply)
BAD_CASES: list[tuple[State, bytes, bytes]] = [
    (State.NOT_AUTHENTICATED, b"\r\n", b"* BAD Empty command line\r\n"),
    (State.NOT_AUTHENTICATED, b"+a NOOP\r\n", b"* BAD Invalid tag\r\n"),
    (State.NOT_AUTHENTICATED, b"a*b NOOP\r\n", b"* BAD Invalid tag\r\n"),
    (State.NOT_AUTHENTICATED, b"(x NOOP\r\n", b"* BAD Invalid tag\r\n"),
    (State.NOT_AUTHENTICATED, b"t" * 65 + b" NOOP\r\n", b"* BAD Invalid tag\r\n"),
    (State.NOT_AUTHENTICATED, b"t" * 5000 + b"\r\n", b"* BAD Invalid tag\r\n"),
    (State.NOT_AUTHENTICATED, b"a1\r\n", SYN),
    (State.NOT_AUTHENTICATED, b"a1 \r\n", b"a1 BAD Unknown command\r\n"),
    (State.NOT_AUTHENTICATED, b"a1 FROB\r\n", b"a1 BAD Unknown command\r\n"),
    (State.NOT_AUTHENTICATED, b"a1 NOOP extra\r\n", SYN),
    (State.NOT_AUTHENTICATED, b"a1 NOOP \r\n", SYN),
    (State.NOT_AUTHENTICATED, b"a1  NOOP\r\n", b"a1 BAD Unknown command\r\n"),
    (State.NOT_AUTHENTICATED, b"a1 LOGIN alice\r\n", SYN),
    (State.NOT_AUTHENTICATED, b'a1 LOGIN "al\x00ice" "p"\r\n', b"a1 BAD Invalid string\r\n"),
    (State.NOT_AUTHENTICATED, b'a1 LOGIN "alice\r\n', b"a1 BAD Invalid string\r\n"),
    (State.NOT_AUTHENTICATED, b"a1 LOGIN {5}\r\nal\x00ce x\r\n", b"a1 BAD Invalid string\r\n"),
    (State.NOT_AUTHENTICATED, b'a1 LOGIN "\xff\xfe" x\r\n', b"a1 BAD Invalid string\r\n"),
    (State.NOT_AUTHENTICATED, b"a1 LOGIN a{5}\r\nhello\r\n", SYN),
    (State.NOT_AUTHENTICATED, b"a1 AUTHENTICATE PLAIN !!!\r\n", b"a1 BAD Invalid base64\r\n"),
    (State.NOT_AUTHENTICATED, b"a1 AUTHENTICATE PLAIN AGFsaWNl=AA\r\n",
     b"a1 BAD Invalid base64\r\n"),
    (State.NOT_AUTHENTICATED, b"a1 SELECT INBOX\r\n",
     b"a1 BAD Command not valid in this state\r\n"),
    (State.AUTHENTICATED, b"a1 LOGIN a b\r\n", b"a1 BAD Command not valid in this state\r\n"),
    (State.AUTHENTICATED, b"a1 FETCH 1 FLAGS\r\n", b"a1 BAD Command not valid in this state\r\n"),
    (State.SELECTED, b"a1 ENABLE CONDSTORE\r\n", b"a1 BAD Command not valid in this state\r\n"),
    (State.AUTHENTICATED, b"a1 ENABLE\r\n", SYN),
    (State.AUTHENTICATED, b"a1 SELECT\r\n", SYN),
    (State.AUTHENTICATED, b'a1 SELECT "IN\x00BOX"\r\n', b"a1 BAD Invalid string\r\n"),
    (State.AUTHENTICATED, b'a1 CREATE "x\x01y"\r\n', MBX),
    (State.AUTHENTICATED, b"a1 CREATE a&AGE-\r\n", MBX),  # encodes "a": aliasing
    (State.AUTHENTICATED, b"a1 CREATE x&AAA-y\r\n", MBX),  # encoded NUL
    (State.AUTHENTICATED, b"a1 CREATE &\r\n", MBX),
    (State.AUTHENTICATED, b"a1 CREATE &Jjo\r\n", MBX),
    (State.AUTHENTICATED, b"a1 CREATE &AGEAYgBj-\r\n", MBX),
    (State.AUTHENTICATED, b"a1 CREATE &2D0-\r\n", MBX),  # lone surrogate
    (State.AUTHENTICATED, b"a1 CREATE &AOk-&AOk-\r\n", MBX),  # non-canonical split
    (State.AUTHENTICATED, b'a1 CREATE "\xc3\xa9"\r\n', MBX),  # 8-bit before UTF8=ACCEPT
    (State.AUTHENTICATED, b"a1 CREATE x (USE (Sent))\r\n", SYN),
    (State.AUTHENTICATED, b"a1 CREATE x (FOO (\\Sent))\r\n", b"a1 BAD Unsupported option\r\n"),
    (State.AUTHENTICATED, b"a1 SELECT INBOX (QRESYNC)\r\n", b"a1 BAD Unsupported option\r\n"),
    (State.AUTHENTICATED, b"a1 SELECT INBOX ()\r\n", SYN),
    (State.AUTHENTICATED, b"a1 STATUS INBOX ()\r\n", SYN),
    (State.AUTHENTICATED, b"a1 STATUS INBOX (MESSAGES\r\n", SYN),
    (State.AUTHENTICATED, b"a1 STATUS INBOX (FOO)\r\n", SYN),
    (State.AUTHENTICATED, b"a1 LIST (RECURSIVEMATCH) \"\" *\r\n", SYN),
    (State.AUTHENTICATED, b"a1 LIST (FOO) \"\" *\r\n", b"a1 BAD Unsupported option\r\n"),
    (State.AUTHENTICATED, b"a1 LIST \"\" * RETURN (FOO)\r\n", b"a1 BAD Unsupported option\r\n"),
    (State.AUTHENTICATED, b"a1 LIST \"\" * (CHILDREN)\r\n", SYN),
    (State.AUTHENTICATED, b"a1 LIST \"\"\r\n", SYN),
    (State.AUTHENTICATED, b"a1 APPEND INBOX\r\n", SYN),
    (State.AUTHENTICATED, b"a1 APPEND INBOX (\\Seen\r\n", SYN),
    (State.AUTHENTICATED, b'a1 APPEND INBOX "hello"\r\n', b"a1 BAD Invalid date\r\n"),
    (State.AUTHENTICATED, b'a1 APPEND INBOX "date" {0}\r\n\r\n', b"a1 BAD Invalid date\r\n"),
    (State.AUTHENTICATED, b'a1 APPEND INBOX "31-Feb-2024 10:00:00 +0000" {0}\r\n\r\n',
     b"a1 BAD Invalid date\r\n"),
    (State.AUTHENTICATED, b"a1 APPEND INBOX {3}\r\na\x00b\r\n", b"a1 BAD Invalid string\r\n"),
    (State.AUTHENTICATED, b"a1 APPEND INBOX (\\*) {1}\r\nx\r\n", b"a1 BAD Invalid flag\r\n"),
    (State.NOT_AUTHENTICATED, b"a1 LOGIN ~{1}\r\nx y\r\n", b"a1 BAD Invalid string\r\n"),
    (State.AUTHENTICATED, b"a1 ID (\"a\")\r\n", SYN),
    (State.AUTHENTICATED, b"a1 ID (" + b" ".join([b'"k" "v"'] * 31) + b")\r\n",
     b"a1 BAD Command too complex\r\n"),
    (State.SELECTED, b"a1 FETCH 0 FLAGS\r\n", b"a1 BAD Invalid sequence set\r\n"),
    (State.SELECTED, b"a1 FETCH 01 FLAGS\r\n", b"a1 BAD Invalid sequence set\r\n"),
    (State.SELECTED, b"a1 FETCH 4294967296 FLAGS\r\n", b"a1 BAD Invalid sequence set\r\n"),
    (State.SELECTED, b"a1 FETCH 1: FLAGS\r\n", SYN),
    (State.SELECTED, b"a1 FETCH 1,$ FLAGS\r\n", SYN),
    (State.SELECTED, b"a1 FETCH -1 FLAGS\r\n", b"a1 BAD Invalid sequence set\r\n"),
    (State.SELECTED, b"a1 FETCH 1 ()\r\n", SYN),
    (State.SELECTED, b"a1 FETCH 1 (ALL)\r\n", SYN),
    (State.SELECTED, b"a1 FETCH 1 (FLAGS\r\n", SYN),
    (State.SELECTED, b"a1 FETCH 1 FOO\r\n", SYN),
    (State.SELECTED, b"a1 FETCH 1 BODY[MIME]\r\n", SYN),
    (State.SELECTED, b"a1 FETCH 1 BODY[0]\r\n", SYN),
    (State.SELECTED, b"a1 FETCH 1 BODY[1.0]\r\n", SYN),
    (State.SELECTED, b"a1 FETCH 1 BODY[HEADER.FIELDS ()]\r\n",
     b"a1 BAD Invalid string\r\n"),
    (State.SELECTED, b"a1 FETCH 1 BODY[HEADER.FIELDS (a:b)]\r\n", SYN),
    (State.SELECTED, b"a1 FETCH 1 BODY[]<-1.10>\r\n", b"a1 BAD Invalid number\r\n"),
    (State.SELECTED, b"a1 FETCH 1 BODY[]<0.0>\r\n", b"a1 BAD Invalid number\r\n"),
    (State.SELECTED, b"a1 FETCH 1 BODY[]<18446744073709551615.1>\r\n",
     b"a1 BAD Invalid number\r\n"),
    (State.SELECTED, b"a1 FETCH 1 BODY[1.99999999999]\r\n",
     b"a1 BAD Invalid number\r\n"),
    (State.SELECTED, b"a1 FETCH 1 BODY.PEEK\r\n", SYN),
    (State.SELECTED, b"a1 FETCH 1 BINARY.SIZE[1]<0.1>\r\n", SYN),
    (State.SELECTED, b"a1 FETCH 1 BINARY[TEXT]\r\n", SYN),
    (State.SELECTED, b"a1 FETCH 1 FLAGS (VANISHED)\r\n", b"a1 BAD Unsupported option\r\n"),
    (State.SELECTED, b"a1 STORE 1 FLAGS\r\n", SYN),
    (State.SELECTED, b"a1 STORE 1 FLAGZ (\\Seen)\r\n", SYN),
    (State.SELECTED, b"a1 STORE 1 FLAGS (\\*)\r\n", b"a1 BAD Invalid flag\r\n"),
    (State.SELECTED, b"a1 STORE 1 FLAGS (\\Seen\r\n", SYN),
    (State.SELECTED, b"a1 STORE 1 FLAGS (a\xc3\xa9)\r\n", SYN),
    (State.SELECTED, b"a1 COPY 1\r\n", SYN),
    (State.SELECTED, b"a1 UID FROB 1\r\n", b"a1 BAD Unknown command\r\n"),
    (State.SELECTED, b"a1 UID EXPUNGE\r\n", SYN),
    (State.SELECTED, b"a1 SEARCH\r\n", SYN),
    (State.SELECTED, b"a1 SEARCH FOO\r\n", SYN),
    (State.SELECTED, b"a1 SEARCH (ALL\r\n", SYN),
    (State.SELECTED, b"a1 SEARCH ()\r\n", SYN),
    (State.SELECTED, b"a1 SEARCH ALL)\r\n", SYN),
    (State.SELECTED, b"a1 SEARCH OR ALL\r\n", SYN),
    (State.SELECTED, b"a1 SEARCH NOT\r\n", SYN),
    (State.SELECTED, b"a1 SEARCH BEFORE 32-Jan-2024\r\n", b"a1 BAD Invalid date\r\n"),
    (State.SELECTED, b"a1 SEARCH BEFORE 1-Foo-2024\r\n", b"a1 BAD Invalid date\r\n"),
    (State.SELECTED, b"a1 SEARCH LARGER x\r\n", b"a1 BAD Invalid number\r\n"),
    (State.SELECTED, b"a1 SEARCH LARGER 99999999999999999999999\r\n",
     b"a1 BAD Invalid number\r\n"),
    (State.SELECTED, b"a1 SEARCH KEYWORD \\Seen\r\n", b"a1 BAD Invalid flag\r\n"),
    (State.SELECTED, b"a1 SEARCH RETURN (FOO) ALL\r\n", b"a1 BAD Unsupported option\r\n"),
    (State.SELECTED, b"a1 SEARCH TEXT \"\xff\"\r\n", b"a1 BAD Invalid string\r\n"),
    (State.SELECTED, b"a1 SEARCH CHARSET KOI8-R TEXT x\r\n",
     b"a1 NO [BADCHARSET (US-ASCII UTF-8)] Unsupported charset\r\n"),
    (State.SELECTED, b"a1 SEARCH MODSEQ \"/foo\" all 5\r\n", SYN),
    (State.SELECTED, b"a1 SEARCH MODSEQ 9223372036854775808\r\n", b"a1 BAD Invalid number\r\n"),
]


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize(("state", "wire", "reply"), BAD_CASES,
                         ids=[w[:40].decode("latin-1") for _, w, _ in BAD_CASES])
def test_malformed_gets_fixed_bad_and_session_survives(state: State, wire: bytes,
                                                       reply: bytes, split: str) -> None:
    conn = connection_in(state)
    events = feed(conn, wire, split)
    assert events == []
    out = conn.data_to_send()
    assert out.replace(b"+ Ready for literal data\r\n", b"") == reply
    assert feed(conn, b"z NOOP\r\n") == [CommandReceived(c.Noop("z"))]
    assert not conn.is_closed


def test_public_text_never_echoes_input() -> None:
    conn = connection_in(State.SELECTED)
    feed(conn, b"t1 SEARCH HEADER SECRETVALUE (\r\nt2 FETCH 1 BODY[SECRET]\r\n")
    out = conn.data_to_send()
    assert out == b"t1 BAD Invalid string\r\nt2 BAD Syntax error\r\n"
    assert b"SECRET" not in out
