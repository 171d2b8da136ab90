"""Known-answer tables: command bytes → Command, each fed whole, byte by byte, in two halves,
and followed by the next command (STYLE.md §7, §8.4)."""

from __future__ import annotations

import datetime as dt

import pytest

from mailfort.core.secret import Secret
from mailfort.imap import commands as c
from mailfort.imap.connection import CommandReceived
from mailfort.mail import search as s
from mailfort.mail.uidset import SeqRange, SequenceSet
from tests.imap import imap_wire
from tests.imap.imap_harness import SPLITS, connection_in, feed, state_for

SS = SequenceSet.of
ALL_ = s.All()
T = "a1"
UTC1 = dt.timezone(dt.timedelta(hours=1))


def rng(a: int | None, b: int | None) -> SequenceSet:
    return SequenceSet((SeqRange(a, b),))


CASES: list[tuple[bytes, c.Command]] = [
    # any state
    (b"a1 CAPABILITY\r\n", c.Capability(T)),
    (b"a1 capability\r\n", c.Capability(T)),
    (b"a1 NOOP\r\n", c.Noop(T)),
    (b"a1 LOGOUT\r\n", c.Logout(T)),
    (b"a1 ID NIL\r\n", c.Id(T, None)),
    (b'a1 ID ("name" "mutt" "version" NIL)\r\n', c.Id(T, (("name", "mutt"), ("version", None)))),
    (b"a1 ID ()\r\n", c.Id(T, ())),
    (b'a1 ID ({4}\r\nname "x")\r\n', c.Id(T, (("name", "x"),))),
    # not authenticated
    (b"a1 STARTTLS\r\n", c.StartTLS(T)),
    (b"a1 LOGIN alice secret\r\n", c.Login(T, "alice", Secret("secret"))),
    (b'a1 LOGIN "alice" "p w\\"\\\\"\r\n', c.Login(T, "alice", Secret('p w"\\'))),
    (b"a1 LOGIN {5}\r\nalice {6+}\r\nsecret\r\n", c.Login(T, "alice", Secret("secret"))),
    (b'a1 LOGIN "j\xc3\xb6rg" "\xc3\xa4"\r\n', c.Login(T, "j\u00f6rg", Secret("\u00e4"))),
    (b"a1 AUTHENTICATE PLAIN\r\n", c.Authenticate(T, "PLAIN", None)),
    (b"a1 authenticate plain =\r\n", c.Authenticate(T, "PLAIN", Secret(b""))),
    (b"a1 AUTHENTICATE PLAIN AGFsaWNlAHB3\r\n",
     c.Authenticate(T, "PLAIN", Secret(b"\x00alice\x00pw"))),
    # authenticated
    (b"a1 ENABLE UTF8=ACCEPT condstore\r\n", c.Enable(T, ("UTF8=ACCEPT", "CONDSTORE"))),
    (b"a1 SELECT INBOX\r\n", c.Select(T, "INBOX")),
    (b"a1 SELECT inbox\r\n", c.Select(T, "INBOX")),
    (b'a1 SELECT "InBoX/child"\r\n', c.Select(T, "INBOX/child")),
    (b"a1 SELECT inboxes\r\n", c.Select(T, "inboxes")),
    (b"a1 SELECT Sent (CONDSTORE)\r\n", c.Select(T, "Sent", condstore=True)),
    (b"a1 EXAMINE {5}\r\nDraft\r\n", c.Select(T, "Draft", is_readonly=True)),
    (b"a1 SELECT &AOk-t&AOk-\r\n", c.Select(T, "\u00e9t\u00e9")),
    (b'a1 SELECT "Tom &- Jerry"\r\n', c.Select(T, "Tom & Jerry")),
    (b"a1 CREATE Archive\r\n", c.Create(T, "Archive")),
    (b"a1 CREATE Sent (USE (\\sent))\r\n", c.Create(T, "Sent", ("\\Sent",))),
    (b"a1 CREATE X (USE (\\Junk \\Trash))\r\n", c.Create(T, "X", ("\\Junk", "\\Trash"))),
    (b"a1 DELETE old\r\n", c.Delete(T, "old")),
    (b"a1 RENAME a b/c\r\n", c.Rename(T, "a", "b/c")),
    (b"a1 SUBSCRIBE news\r\n", c.Subscribe(T, "news")),
    (b"a1 UNSUBSCRIBE news\r\n", c.Unsubscribe(T, "news")),
    (b'a1 LIST "" *\r\n', c.List(T, "", ("*",))),
    (b'a1 LIST "" %/%\r\n', c.List(T, "", ("%/%",))),
    (b'a1 LIST foo/ "b]r*"\r\n', c.List(T, "foo/", ("b]r*",))),
    (b'a1 LIST "" inbox\r\n', c.List(T, "", ("INBOX",))),
    (b'a1 LIST (SUBSCRIBED RECURSIVEMATCH) "" ("a" b*)\r\n',
     c.List(T, "", ("a", "b*"), frozenset({"SUBSCRIBED", "RECURSIVEMATCH"}), is_extended=True)),
    (b'a1 LIST () "" *\r\n', c.List(T, "", ("*",), is_extended=True)),
    (b'a1 LIST (special-use) "" * RETURN (SPECIAL-USE)\r\n',
     c.List(T, "", ("*",), frozenset({"SPECIAL-USE"}), c.ListReturn(special_use=True), True)),
    (b'a1 LIST "" % RETURN (CHILDREN SUBSCRIBED STATUS (MESSAGES UNSEEN))\r\n',
     c.List(T, "", ("%",), returns=c.ListReturn(True, True, False, (
         c.StatusItem.MESSAGES, c.StatusItem.UNSEEN)), is_extended=True)),
    (b'a1 LIST "" * RETURN ()\r\n', c.List(T, "", ("*",), is_extended=True)),
    (b'a1 LSUB "" *\r\n', c.Lsub(T, "", "*")),
    (b"a1 NAMESPACE\r\n", c.Namespace(T)),
    (b"a1 STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE RECENT HIGHESTMODSEQ)"
     b"\r\n", c.Status(T, "INBOX", tuple(c.StatusItem))),
    (b"a1 APPEND INBOX {5}\r\nhello\r\n",
     c.Append(T, "INBOX", (c.AppendMessage((), None, b"hello"),))),
    (b"a1 APPEND Sent (\\Seen $Forwarded) {2+}\r\nhi\r\n",
     c.Append(T, "Sent", (c.AppendMessage(("\\Seen", "$Forwarded"), None, b"hi"),))),
    (b'a1 APPEND Sent () " 1-Feb-2024 10:00:00 +0100" {0}\r\n\r\n',
     c.Append(T, "Sent", (c.AppendMessage((), dt.datetime(2024, 2, 1, 10, tzinfo=UTC1), b""),))),
    (b'a1 APPEND Sent "01-Feb-2024 10:00:00 -0000" {1}\r\nx\r\n',
     c.Append(T, "Sent", (c.AppendMessage((), dt.datetime(2024, 2, 1, 10, tzinfo=dt.UTC),
                                          b"x"),))),
    (b"a1 APPEND INBOX ~{3}\r\na\x00b\r\n",
     c.Append(T, "INBOX", (c.AppendMessage((), None, b"a\x00b"),))),
    (b"a1 APPEND INBOX (\\Draft) {1+}\r\na {1+}\r\nb\r\n",
     c.Append(T, "INBOX", (c.AppendMessage(("\\Draft",), None, b"a"),
                           c.AppendMessage((), None, b"b")))),
    (b"a1 APPEND INBOX {4}\r\na\r\nb\r\n",
     c.Append(T, "INBOX", (c.AppendMessage((), None, b"a\r\nb"),))),
    (b"a1 IDLE\r\n", c.Idle(T)),
    # selected
    (b"a1 CHECK\r\n", c.Check(T)),
    (b"a1 CLOSE\r\n", c.Close(T)),
    (b"a1 UNSELECT\r\n", c.Unselect(T)),
    (b"a1 EXPUNGE\r\n", c.Expunge(T)),
    (b"a1 UID EXPUNGE 1:5,7\r\n", c.Expunge(T, SequenceSet((SeqRange(1, 5), SeqRange(7, 7))))),
    (b"a1 COPY 1:* Trash\r\n", c.Copy(T, False, rng(1, None), "Trash")),
    (b"a1 UID COPY $ Trash\r\n", c.Copy(T, True, SequenceSet.saved(), "Trash")),
    (b"a1 MOVE 2,4:3 Junk\r\n", c.Move(T, False, SequenceSet((SeqRange(2, 2), SeqRange(4, 3))),
                                       "Junk")),
    (b"a1 uid move * Junk\r\n", c.Move(T, True, rng(None, None), "Junk")),
    (b"a1 STORE 1 FLAGS (\\Seen)\r\n", c.Store(T, False, SS(1), c.StoreMode.REPLACE,
                                              ("\\Seen",))),
    (b"a1 STORE 1 FLAGS ()\r\n", c.Store(T, False, SS(1), c.StoreMode.REPLACE, ())),
    (b"a1 STORE 1:2 +FLAGS.SILENT \\seen \\DELETED foo\r\n",
     c.Store(T, False, rng(1, 2), c.StoreMode.ADD, ("\\Seen", "\\Deleted", "foo"), True)),
    (b"a1 UID STORE 5 (UNCHANGEDSINCE 12345) -flags (\\Flagged)\r\n",
     c.Store(T, True, SS(5), c.StoreMode.REMOVE, ("\\Flagged",), False, 12345)),
    (b"a1 FETCH 1 ALL\r\n", c.Fetch(T, False, SS(1), (
        c.FetchItem.FLAGS, c.FetchItem.INTERNALDATE, c.FetchItem.RFC822_SIZE,
        c.FetchItem.ENVELOPE))),
    (b"a1 FETCH 1 fast\r\n", c.Fetch(T, False, SS(1), (
        c.FetchItem.FLAGS, c.FetchItem.INTERNALDATE, c.FetchItem.RFC822_SIZE))),
    (b"a1 FETCH 1 FULL\r\n", c.Fetch(T, False, SS(1), (
        c.FetchItem.FLAGS, c.FetchItem.INTERNALDATE, c.FetchItem.RFC822_SIZE,
        c.FetchItem.ENVELOPE, c.FetchItem.BODY))),
    (b"a1 FETCH 1 UID\r\n", c.Fetch(T, False, SS(1), (c.FetchItem.UID,))),
    (b"a1 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 7)\r\n",
     c.Fetch(T, True, rng(1, None), (c.FetchItem.FLAGS,), 7)),
    (b"a1 FETCH 1 (ENVELOPE BODYSTRUCTURE BODY RFC822 RFC822.HEADER RFC822.TEXT RFC822.SIZE "
     b"MODSEQ INTERNALDATE)\r\n",
     c.Fetch(T, False, SS(1), (
         c.FetchItem.ENVELOPE, c.FetchItem.BODYSTRUCTURE, c.FetchItem.BODY,
         c.FetchItem.RFC822, c.FetchItem.RFC822_HEADER, c.FetchItem.RFC822_TEXT,
         c.FetchItem.RFC822_SIZE, c.FetchItem.MODSEQ, c.FetchItem.INTERNALDATE))),
    (b"a1 FETCH 1 (BODY[] BODY.PEEK[HEADER] body[TEXT]<0.100>)\r\n",
     c.Fetch(T, False, SS(1), (
         c.BodySection(c.Section()),
         c.BodySection(c.Section((), c.SectionText.HEADER), is_peek=True),
         c.BodySection(c.Section((), c.SectionText.TEXT), (0, 100))))),
    (b"a1 FETCH 1 (BODY.PEEK[1.2.HEADER.FIELDS (From To {7}\r\nSubject)] BODY[2.MIME] "
     b"BODY[3] BODY[HEADER.FIELDS.NOT (X-Spam)])\r\n",
     c.Fetch(T, False, SS(1), (
         c.BodySection(c.Section((1, 2), c.SectionText.HEADER_FIELDS,
                                 ("From", "To", "Subject")), is_peek=True),
         c.BodySection(c.Section((2,), c.SectionText.MIME)),
         c.BodySection(c.Section((3,))),
         c.BodySection(c.Section((), c.SectionText.HEADER_FIELDS_NOT, ("X-Spam",)))))),
    (b"a1 FETCH 1 (BINARY[1] BINARY.PEEK[1.2]<5.10> BINARY.SIZE[1] BINARY[])\r\n",
     c.Fetch(T, False, SS(1), (
         c.BinarySection((1,)), c.BinarySection((1, 2), (5, 10), True), c.BinarySize((1,)),
         c.BinarySection(())))),
    (b"a1 SEARCH ALL\r\n", c.Search(T, False, ALL_)),
    (b"a1 UID SEARCH UNSEEN\r\n", c.Search(T, True, s.HasFlag("\\Seen", False))),
    (b"a1 SEARCH CHARSET UTF-8 SUBJECT \"caf\xc3\xa9\"\r\n",
     c.Search(T, False, s.Header("subject", "caf\u00e9"), "UTF-8")),
    (b"a1 SEARCH charset us-ascii TEXT {3}\r\nabc\r\n",
     c.Search(T, False, s.Text("abc"), "US-ASCII")),
    (b"a1 SEARCH RETURN (MIN MAX COUNT) 1:*\r\n",
     c.Search(T, False, s.InSet(rng(1, None), False), None, c.SearchReturn(True, True, False,
                                                                           True))),
    (b"a1 SEARCH RETURN () ALL\r\n", c.Search(T, False, ALL_, None, c.SearchReturn(all=True))),
    (b"a1 UID SEARCH RETURN (SAVE ALL) FLAGGED\r\n",
     c.Search(T, True, s.HasFlag("\\Flagged"), None, c.SearchReturn(all=True, save=True))),
    (b"a1 SEARCH $\r\n", c.Search(T, False, s.InSet(SequenceSet.saved(), False))),
    (b"a1 SEARCH UID 1,3:5 NOT DELETED\r\n",
     c.Search(T, False, s.And((s.InSet(SequenceSet((SeqRange(1, 1), SeqRange(3, 5))), True),
                               s.Not(s.HasFlag("\\Deleted")))))),
    (b"a1 SEARCH OR FROM alice (TO bob CC carol) BCC dave\r\n",
     c.Search(T, False, s.And((s.Or(s.Header("from", "alice"), s.And((
         s.Header("to", "bob"), s.Header("cc", "carol")))), s.Header("bcc", "dave"))))),
    (b"a1 SEARCH ((SEEN))\r\n", c.Search(T, False, s.HasFlag("\\Seen"))),
    (b"a1 SEARCH BEFORE 1-Feb-2024 ON \"01-Feb-2024\" SINCE 29-feb-2024\r\n",
     c.Search(T, False, s.And((
         s.DateCompare(s.DateField.INTERNAL, s.DateOp.BEFORE, dt.date(2024, 2, 1)),
         s.DateCompare(s.DateField.INTERNAL, s.DateOp.ON, dt.date(2024, 2, 1)),
         s.DateCompare(s.DateField.INTERNAL, s.DateOp.SINCE, dt.date(2024, 2, 29)))))),
    (b"a1 SEARCH SENTBEFORE 2-Jan-2020 SENTON 3-Mar-2021 SENTSINCE 4-Apr-2022\r\n",
     c.Search(T, False, s.And((
         s.DateCompare(s.DateField.SENT, s.DateOp.BEFORE, dt.date(2020, 1, 2)),
         s.DateCompare(s.DateField.SENT, s.DateOp.ON, dt.date(2021, 3, 3)),
         s.DateCompare(s.DateField.SENT, s.DateOp.SINCE, dt.date(2022, 4, 4)))))),
    (b"a1 SEARCH LARGER 100 SMALLER 4294967295\r\n",
     c.Search(T, False, s.And((s.SizeCompare(s.SizeOp.LARGER, 100),
                               s.SizeCompare(s.SizeOp.SMALLER, 4294967295))))),
    (b"a1 SEARCH HEADER X-Mailer \"\" BODY x\r\n",
     c.Search(T, False, s.And((s.Header("x-mailer", ""), s.Body("x"))))),
    (b"a1 SEARCH KEYWORD $Junk UNKEYWORD foo\r\n",
     c.Search(T, False, s.And((s.HasFlag("$Junk"), s.HasFlag("foo", False))))),
    (b"a1 SEARCH ANSWERED DELETED DRAFT FLAGGED SEEN UNANSWERED UNDELETED UNDRAFT UNFLAGGED\r\n",
     c.Search(T, False, s.And(tuple(s.HasFlag(f, v) for v in (True, False) for f in (
         "\\Answered", "\\Deleted", "\\Draft", "\\Flagged", "\\Seen") if v or f != "\\Seen")))),
    (b"a1 SEARCH NEW OLD RECENT\r\n", c.Search(T, False, s.And((s.New(), s.Old(), s.Recent())))),
    (b"a1 SEARCH MODSEQ 620162338\r\n", c.Search(T, False, s.ModSeqAtLeast(620162338))),
    (b'a1 SEARCH MODSEQ "/flags/\\\\draft" all 0\r\n', c.Search(T, False, s.ModSeqAtLeast(0))),
    (b"a1 SEARCH 2:4,*\r\n",
     c.Search(T, False, s.InSet(SequenceSet((SeqRange(2, 4), SeqRange(None, None))), False))),
]


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize(("wire", "expected"), CASES, ids=[w[:40].decode("latin-1")
                                                           for w, _ in CASES])
def test_known_answer(wire: bytes, expected: c.Command, split: str) -> None:
    conn = connection_in(state_for(type(expected)))
    events = feed(conn, wire + b"zz NOOP\r\n", split)
    assert events == [CommandReceived(expected), CommandReceived(c.Noop("zz"))]
    out = conn.data_to_send()
    assert b"BAD" not in out and b"NO" not in out
    sync_literals = wire.count(b"}\r\n") - wire.count(b"+}\r\n")
    assert out == b"+ Ready for literal data\r\n" * sync_literals


UTF8_CASES: list[tuple[bytes, c.Command]] = [
    (b'a1 SELECT "\xc3\xa9t\xc3\xa9"\r\n', c.Select(T, "\u00e9t\u00e9")),
    (b'a1 CREATE "a&b"\r\n', c.Create(T, "a&b")),
    (b'a1 LIST "" "\xe6\x97\xa5*"\r\n', c.List(T, "", ("\u65e5*",))),
    (b'a1 APPEND "inbox/\xc3\xa9" {1}\r\nx\r\n',
     c.Append(T, "INBOX/\u00e9", (c.AppendMessage((), None, b"x"),))),
]


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize(("wire", "expected"), UTF8_CASES)
def test_utf8_accept_mailbox_names(wire: bytes, expected: c.Command, split: str) -> None:
    conn = connection_in(state_for(type(expected)))
    conn.enable_utf8()
    assert feed(conn, wire, split) == [CommandReceived(expected)]


def test_raw_utf8_mailbox_rejected_before_enable() -> None:
    conn = connection_in(state_for(c.Select))
    assert feed(conn, b'a1 SELECT "\xc3\xa9t\xc3\xa9"\r\n') == []
    assert conn.data_to_send() == b"a1 BAD Invalid mailbox name\r\n"


def _encodable(expected: c.Command) -> bool:
    try:
        imap_wire.command(expected)
    except NotImplementedError:
        return False
    return True


# Rows whose verb the test-side encoder does not cover are checked one way only (bytes → value,
# above); they are left out here rather than skipped.
ENCODABLE = [(w, e) for w, e in CASES if _encodable(e)]


@pytest.mark.parametrize(("wire", "expected"), ENCODABLE,
                         ids=[w[:40].decode("latin-1") for w, _ in ENCODABLE])
def test_known_answer_other_way(wire: bytes, expected: c.Command) -> None:
    """value → bytes (the test-side encoder) → value, so each table row is checked both ways."""
    encoded = imap_wire.command(expected)
    conn = connection_in(state_for(type(expected)))
    assert feed(conn, encoded) == [CommandReceived(expected)]
