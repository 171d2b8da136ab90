"""APPEND FETCH STORE SEARCH COPY MOVE EXPUNGE CLOSE UNSELECT EXAMINE over real sockets."""

from __future__ import annotations

import re

from tests.conftest import Account, RunningServer
from tests.integration.imapwire import WireClient

MULTI = (b"From: Alice <alice@example.test>\r\n"
         b"To: bob@example.test\r\n"
         b"Subject: quarterly report\r\n"
         b"Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n"
         b"MIME-Version: 1.0\r\n"
         b"Content-Type: multipart/mixed; boundary=\"xx\"\r\n"
         b"\r\n"
         b"preamble\r\n"
         b"--xx\r\n"
         b"Content-Type: text/plain; charset=us-ascii\r\n"
         b"\r\n"
         b"plain words here\r\n"
         b"--xx\r\n"
         b"Content-Type: application/octet-stream\r\n"
         b"Content-Transfer-Encoding: base64\r\n"
         b"\r\n"
         b"AAECAwQ=\r\n"
         b"--xx--\r\n")
SIMPLE = b"From: carol@example.test\r\nSubject: lunch\r\n\r\nsandwich time\r\n"


def _append(wire: WireClient, tag: bytes, raw: bytes, extra: bytes = b"",
            mailbox: bytes = b"INBOX") -> list[bytes]:
    wire.send(tag + b" APPEND " + mailbox + b" " + extra + b"{%d+}\r\n" % len(raw) + raw
              + b"\r\n")
    return wire.until_tagged(tag)


def _select(wire: WireClient, box: bytes = b"INBOX") -> list[bytes]:
    resp = wire.command(b"s", b"SELECT " + box)
    assert resp[-1].startswith(b"s OK [READ-WRITE]"), resp
    return resp


def test_append_appenduid_trycreate_and_flags(wire: WireClient) -> None:
    resp = _append(wire, b"a", SIMPLE, b"(\\Seen $Work) \"14-Jul-2021 02:44:25 +0200\" ")
    m = re.match(rb"a OK \[APPENDUID (\d+) 1\] APPEND completed", resp[-1])
    assert m, resp
    assert _append(wire, b"b", SIMPLE, mailbox=b"Nope")[-1].startswith(b"b NO [TRYCREATE]")
    _select(wire)
    resp = wire.command(b"c", b"FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE)")
    assert resp[0] == (b'* 1 FETCH (FLAGS ($Work \\Seen \\Recent) '
                       b'INTERNALDATE "14-Jul-2021 02:44:25 +0200" '
                       b'RFC822.SIZE %d)\r\n' % len(SIMPLE)), resp


def test_select_responses(server: RunningServer, account: Account, wire: WireClient) -> None:
    server.deliver(account, SIMPLE)
    server.deliver(account, SIMPLE)
    resp = _select(wire)
    text = b"".join(resp)
    assert b"* 2 EXISTS\r\n" in text and b"* 2 RECENT\r\n" in text
    assert b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n" in text
    assert b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)]" in text
    assert b"* OK [UNSEEN 1]" in text
    assert re.search(rb"\* OK \[UIDVALIDITY \d+\]", text)
    assert b"* OK [UIDNEXT 3]" in text
    # a second session no longer sees them as recent; EXAMINE is read-only
    resp = wire.command(b"e", b"EXAMINE INBOX")
    text = b"".join(resp)
    assert b"* OK [CLOSED]" in text and b"* 0 RECENT\r\n" in text
    assert resp[-1].startswith(b"e OK [READ-ONLY]")
    assert b"* OK [PERMANENTFLAGS ()]" in text
    assert wire.command(b"f", b"STORE 1 +FLAGS (\\Seen)")[-1].startswith(b"f NO")
    assert wire.command(b"g", b"SELECT nope")[-1].startswith(b"g NO [NONEXISTENT]")
    assert wire.command(b"h", b"FETCH 1 FLAGS")[-1].startswith(b"h BAD")


def test_enable_rev2_hides_recent(server: RunningServer, account: Account,
                                  wire: WireClient) -> None:
    server.deliver(account, SIMPLE)
    assert wire.command(b"a", b"ENABLE IMAP4rev2 CONDSTORE") == [
        b"* ENABLED IMAP4rev2\r\n", b"a OK ENABLE completed\r\n"]
    text = b"".join(_select(wire))
    assert b"RECENT" not in text and b"UNSEEN" not in text
    resp = wire.command(b"b", b"SEARCH ALL")
    assert resp[0] == b'* ESEARCH (TAG "b") ALL 1\r\n'


def test_fetch_sections_byte_exact(server: RunningServer, account: Account,
                                   wire: WireClient) -> None:
    server.deliver(account, MULTI)
    _select(wire)
    header_end = MULTI.index(b"\r\n\r\n") + 4
    cases = [
        (b"BODY.PEEK[]", b"BODY[]", MULTI),
        (b"BODY.PEEK[HEADER]", b"BODY[HEADER]", MULTI[:header_end]),
        (b"BODY.PEEK[TEXT]", b"BODY[TEXT]", MULTI[header_end:]),
        (b"BODY.PEEK[1]", b"BODY[1]", b"plain words here"),
        (b"BODY.PEEK[2]", b"BODY[2]", b"AAECAwQ="),
        (b"BODY.PEEK[1.MIME]", b"BODY[1.MIME]",
         b"Content-Type: text/plain; charset=us-ascii\r\n\r\n"),
        (b"BODY.PEEK[HEADER.FIELDS (SUBJECT)]", b"BODY[HEADER.FIELDS (SUBJECT)]",
         b"Subject: quarterly report\r\n\r\n"),
        (b"BODY.PEEK[]<6.5>", b"BODY[]<6>", MULTI[6:11]),
        (b"BODY.PEEK[]<100000.5>", b"BODY[]<100000>", b""),
        (b"BINARY.PEEK[2]", b"BINARY[2]", b"\x00\x01\x02\x03\x04"),
        (b"RFC822.HEADER", b"RFC822.HEADER", MULTI[:header_end]),
    ]
    for i, (item, key, expected) in enumerate(cases):
        tag = b"f%d" % i
        resp = wire.command(tag, b"FETCH 1 (" + item + b")")
        head = b"* 1 FETCH (" + key + b" "
        assert resp[0].startswith(head), (item, resp)
        lit = resp[0][len(head):]
        m = re.match(rb"~?\{(\d+)\}\r\n", lit)
        assert m, (item, resp[0][:200])
        body = lit[m.end():m.end() + int(m.group(1))]
        assert body == expected, item
        assert resp[-1] == tag + b" OK FETCH completed\r\n"
    resp = wire.command(b"z", b"FETCH 1 (BINARY.SIZE[2] FLAGS)")
    assert resp[0] == b"* 1 FETCH (FLAGS (\\Recent) BINARY.SIZE[2] 5)\r\n"


def test_fetch_envelope_bodystructure_uid(server: RunningServer, account: Account,
                                          wire: WireClient) -> None:
    result = server.deliver(account, MULTI)
    _select(wire)
    resp = wire.command(b"a", b"UID FETCH %d (ENVELOPE BODYSTRUCTURE BODY)" % result.uid)
    line = resp[0]
    assert line.startswith(b"* 1 FETCH (UID %d ENVELOPE (" % result.uid)
    assert b'"quarterly report"' in line and b"BODYSTRUCTURE ((" in line
    assert b'"mixed"' in line.upper().replace(b'"MIXED"', b'"mixed"')


def test_nonpeek_fetch_sets_seen(server: RunningServer, account: Account,
                                 wire: WireClient) -> None:
    server.deliver(account, SIMPLE)
    _select(wire)
    resp = wire.command(b"a", b"FETCH 1 (BODY[TEXT])")
    assert b"FLAGS (\\Recent \\Seen)" in resp[0] or b"FLAGS (\\Seen \\Recent)" in resp[0], resp
    resp = wire.command(b"b", b"FETCH 1 (FLAGS)")
    assert b"\\Seen" in resp[0]


def test_store_variants(server: RunningServer, account: Account, wire: WireClient) -> None:
    for _ in range(3):
        server.deliver(account, SIMPLE)
    wire.command(b"x", b"ENABLE IMAP4rev2")  # no \\Recent in the replies below
    _select(wire)
    resp = wire.command(b"a", b"STORE 1:2 +FLAGS (\\Flagged $Label)")
    assert resp[0] == b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label)\r\n"
    assert resp[1] == b"* 1 FETCH (FLAGS ($Label \\Flagged))\r\n"
    assert resp[2] == b"* 2 FETCH (FLAGS ($Label \\Flagged))\r\n"
    resp = wire.command(b"b", b"STORE 2 -FLAGS.SILENT (\\Flagged)")
    assert resp == [b"b OK STORE completed\r\n"]
    resp = wire.command(b"c", b"UID STORE 3 FLAGS (\\Answered)")
    assert resp[0] == b"* 3 FETCH (UID 3 FLAGS (\\Answered))\r\n"
    resp = wire.command(b"d", b"FETCH 1:* FLAGS")
    assert resp[:3] == [b"* 1 FETCH (FLAGS ($Label \\Flagged))\r\n",
                        b"* 2 FETCH (FLAGS ($Label))\r\n",
                        b"* 3 FETCH (FLAGS (\\Answered))\r\n"]
    assert wire.command(b"e", b"STORE 9 +FLAGS (\\Seen)")[-1].startswith(b"e BAD")


def test_search_keys_and_esearch(server: RunningServer, account: Account,
                                 wire: WireClient) -> None:
    server.deliver(account, MULTI)
    server.deliver(account, SIMPLE)
    server.deliver(account, b"Subject: big\r\n\r\n" + b"x" * 5000 + b"\r\n")
    _select(wire)
    wire.command(b"p", b"STORE 2 +FLAGS (\\Flagged)")
    cases = [
        (b"SEARCH ALL", b"* SEARCH 1 2 3\r\n"),
        (b"SEARCH FLAGGED", b"* SEARCH 2\r\n"),
        (b"SEARCH UNFLAGGED", b"* SEARCH 1 3\r\n"),
        (b"SEARCH SUBJECT lunch", b"* SEARCH 2\r\n"),
        (b"SEARCH FROM alice", b"* SEARCH 1\r\n"),
        (b"SEARCH BODY sandwich", b"* SEARCH 2\r\n"),
        (b"SEARCH TEXT quarterly", b"* SEARCH 1\r\n"),
        (b"SEARCH LARGER 4000", b"* SEARCH 3\r\n"),
        (b"SEARCH OR FLAGGED LARGER 4000", b"* SEARCH 2 3\r\n"),
        (b"SEARCH NOT SUBJECT lunch", b"* SEARCH 1 3\r\n"),
        (b"SEARCH SENTBEFORE 1-Jan-2000", b"* SEARCH 1\r\n"),
        (b"SEARCH 2:3 UNFLAGGED", b"* SEARCH 3\r\n"),
        (b"UID SEARCH UID 2:*", b"* SEARCH 2 3\r\n"),
        (b"SEARCH CHARSET UTF-8 SUBJECT lunch", b"* SEARCH 2\r\n"),
        (b"SEARCH HEADER Subject big", b"* SEARCH 3\r\n"),
    ]
    for i, (cmd, expected) in enumerate(cases):
        tag = b"q%d" % i
        resp = wire.command(tag, cmd)
        assert resp == [expected, tag + b" OK SEARCH completed\r\n"], cmd
    resp = wire.command(b"r", b"SEARCH CHARSET KOI8-R ALL")
    assert len(resp) == 1 and resp[0].startswith(b"r NO [BADCHARSET (")
    resp = wire.command(b"s", b"UID SEARCH RETURN (MIN MAX COUNT ALL) ALL")
    assert resp[0] == b'* ESEARCH (TAG "s") UID MIN 1 MAX 3 COUNT 3 ALL 1:3\r\n'
    resp = wire.command(b"t", b"SEARCH RETURN () UNFLAGGED")
    assert resp[0] == b'* ESEARCH (TAG "t") ALL 1,3\r\n'
    resp = wire.command(b"u", b"SEARCH RETURN (COUNT) SUBJECT nothing-like-this")
    assert resp[0] == b'* ESEARCH (TAG "u") COUNT 0\r\n'
    resp = wire.command(b"v", b"SEARCH RETURN (SAVE) UNFLAGGED")
    assert resp == [b"v OK SEARCH completed\r\n"]
    resp = wire.command(b"w", b"FETCH $ (UID)")
    assert resp[:2] == [b"* 1 FETCH (UID 1)\r\n", b"* 3 FETCH (UID 3)\r\n"]


def test_copy_and_move(server: RunningServer, account: Account, wire: WireClient) -> None:
    for _ in range(3):
        server.deliver(account, SIMPLE)
    _select(wire)
    resp = wire.command(b"a", b"COPY 1:2 Archive")
    m = re.match(rb"a OK \[COPYUID (\d+) 1:2 1:2\] COPY completed\r\n", resp[-1])
    assert m, resp
    assert wire.command(b"b", b"COPY 1 Nope")[-1].startswith(b"b NO [TRYCREATE]")
    resp = wire.command(b"c", b"UID MOVE 2:3 Trash")
    assert re.match(rb"\* OK \[COPYUID \d+ 2:3 1:2\]", resp[0]), resp
    assert resp[1:] == [b"* 3 EXPUNGE\r\n", b"* 2 EXPUNGE\r\n", b"c OK MOVE completed\r\n"]
    resp = wire.command(b"d", b"STATUS Trash (MESSAGES)")
    assert resp[0] == b'* STATUS "Trash" (MESSAGES 2)\r\n'
    resp = wire.command(b"e", b"STATUS Archive (MESSAGES)")
    assert resp[0] == b'* STATUS "Archive" (MESSAGES 2)\r\n'


def test_expunge_uid_expunge_close_unselect(server: RunningServer, account: Account,
                                            wire: WireClient) -> None:
    for _ in range(4):
        server.deliver(account, SIMPLE)
    _select(wire)
    wire.command(b"a", b"STORE 1:4 +FLAGS.SILENT (\\Deleted)")
    resp = wire.command(b"b", b"UID EXPUNGE 2")
    assert resp == [b"* 2 EXPUNGE\r\n", b"b OK EXPUNGE completed\r\n"]
    wire.command(b"c", b"STORE 3 -FLAGS.SILENT (\\Deleted)")
    resp = wire.command(b"d", b"EXPUNGE")
    assert resp == [b"* 2 EXPUNGE\r\n", b"* 1 EXPUNGE\r\n", b"d OK EXPUNGE completed\r\n"]
    wire.command(b"e", b"STORE 1 +FLAGS.SILENT (\\Deleted)")
    assert wire.command(b"f", b"UNSELECT") == [b"f OK UNSELECT completed\r\n"]
    resp = wire.command(b"g", b"STATUS INBOX (MESSAGES)")
    assert resp[0] == b"* STATUS INBOX (MESSAGES 1)\r\n"
    _select(wire)
    assert wire.command(b"h", b"CLOSE") == [b"h OK CLOSE completed\r\n"]
    resp = wire.command(b"i", b"STATUS INBOX (MESSAGES)")
    assert resp[0] == b"* STATUS INBOX (MESSAGES 0)\r\n"
    assert wire.command(b"j", b"CHECK")[-1].startswith(b"j BAD")
