"""CREATE DELETE RENAME SUBSCRIBE UNSUBSCRIBE LIST LSUB NAMESPACE STATUS."""

from __future__ import annotations

from tests.conftest import Account, RunningServer
from tests.integration.imapwire import WireClient


def _names(lines: list[bytes], kind: bytes = b"LIST") -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for line in lines:
        if line.startswith(b"* " + kind + b" "):
            attrs = line[line.index(b"(") + 1:line.index(b")")]
            name = line.rsplit(b'"/" ', 1)[1].strip().split(b" (")[0].strip(b'"')
            out[name.decode()] = attrs
    return out


def test_default_mailboxes_and_special_use(wire: WireClient) -> None:
    resp = wire.command(b"a", b'LIST "" "*"')
    names = _names(resp)
    assert list(names)[0] == "INBOX"
    assert set(names) == {"INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"}
    assert b"\\Sent" in names["Sent"] and b"\\HasNoChildren" in names["Sent"]
    assert resp[-1] == b"a OK LIST completed\r\n"


def test_list_empty_pattern_gives_delimiter(wire: WireClient) -> None:
    assert wire.command(b"a", b'LIST "" ""') == [b'* LIST (\\Noselect) "/" ""\r\n',
                                                  b"a OK LIST completed\r\n"]


def test_create_with_parents_and_percent(wire: WireClient) -> None:
    assert wire.command(b"a", b"CREATE work/2024/q1")[-1] == b"a OK CREATE completed\r\n"
    names = _names(wire.command(b"b", b'LIST "" "work/%"'))
    assert list(names) == ["work/2024"]
    assert b"\\HasChildren" in names["work/2024"]
    names = _names(wire.command(b"c", b'LIST "work/" "*"'))
    assert set(names) == {"work/2024", "work/2024/q1"}
    assert wire.command(b"d", b"CREATE work")[-1].startswith(b"d NO [ALREADYEXISTS]")
    assert wire.command(b"e", b"CREATE inbox")[-1].startswith(b"e NO [ALREADYEXISTS]")
    assert wire.command(b"f", b'CREATE "a/../b"')[-1].startswith(b"f NO")
    assert wire.command(b"g", b'CREATE "trail/"')[-1] == b"g OK CREATE completed\r\n"
    assert "trail" in _names(wire.command(b"h", b'LIST "" "trail"'))


def test_create_special_use(wire: WireClient) -> None:
    assert wire.command(b"a", b"CREATE Important (USE (\\Flagged))")[-1].startswith(b"a OK")
    names = _names(wire.command(b"b", b'LIST (SPECIAL-USE) "" "*"'))
    assert b"\\Flagged" in names["Important"]
    assert "INBOX" not in names


def test_delete(wire: WireClient) -> None:
    wire.command(b"a", b"CREATE gone")
    assert wire.command(b"b", b"DELETE gone")[-1] == b"b OK DELETE completed\r\n"
    assert wire.command(b"c", b"DELETE gone")[-1].startswith(b"c NO [NONEXISTENT]")
    assert wire.command(b"d", b"DELETE INBOX")[-1].startswith(b"d NO")


def test_rename(wire: WireClient) -> None:
    wire.command(b"a", b"CREATE old/child")
    assert wire.command(b"b", b"RENAME old new/place")[-1] == b"b OK RENAME completed\r\n"
    names = _names(wire.command(b"c", b'LIST "" "*"'))
    assert {"new", "new/place", "new/place/child"} <= set(names)
    assert "old" not in names and "old/child" not in names
    assert wire.command(b"d", b"RENAME nothere x")[-1].startswith(b"d NO [NONEXISTENT]")
    assert wire.command(b"e", b"RENAME new Sent")[-1].startswith(b"e NO [ALREADYEXISTS]")


def test_rename_inbox_moves_messages(server: RunningServer, account: Account,
                                     wire: WireClient) -> None:
    server.deliver(account, b"Subject: one\r\n\r\nbody\r\n")
    server.deliver(account, b"Subject: two\r\n\r\nbody\r\n")
    assert wire.command(b"a", b"RENAME INBOX saved")[-1] == b"a OK RENAME completed\r\n"
    resp = wire.command(b"b", b"STATUS INBOX (MESSAGES)")
    assert resp[0] == b"* STATUS INBOX (MESSAGES 0)\r\n"
    resp = wire.command(b"c", b"STATUS saved (MESSAGES)")
    assert resp[0] == b"* STATUS \"saved\" (MESSAGES 2)\r\n"


def test_subscribe_lsub_and_list_subscribed(wire: WireClient) -> None:
    wire.command(b"a", b"CREATE lists/python")
    assert wire.command(b"b", b"SUBSCRIBE lists/python")[-1].startswith(b"b OK")
    assert wire.command(b"c", b"SUBSCRIBE ghost")[-1].startswith(b"c OK")
    lsub = _names(wire.command(b"d", b'LSUB "" "*"'), b"LSUB")
    assert set(lsub) == {"lists/python", "ghost"}
    lsub = _names(wire.command(b"e", b'LSUB "" "%"'), b"LSUB")
    assert lsub["lists"] == b"\\Noselect" and "ghost" in lsub
    subs = _names(wire.command(b"f", b'LIST (SUBSCRIBED) "" "*"'))
    assert b"\\Subscribed" in subs["lists/python"]
    assert b"\\NonExistent" in subs["ghost"]
    resp = wire.command(b"g", b'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"')
    assert any(b'"lists" ("CHILDINFO" ("SUBSCRIBED"))' in line for line in resp), resp
    assert wire.command(b"h", b"UNSUBSCRIBE ghost")[-1].startswith(b"h OK")
    assert "ghost" not in _names(wire.command(b"i", b'LSUB "" "*"'), b"LSUB")


def test_list_return_status_and_children(server: RunningServer, account: Account,
                                         wire: WireClient) -> None:
    server.deliver(account, b"Subject: x\r\n\r\nhello\r\n")
    resp = wire.command(b"a", b'LIST "" "INBOX" RETURN (CHILDREN STATUS (MESSAGES UNSEEN))')
    assert resp[0].startswith(b"* LIST (\\HasNoChildren) \"/\" INBOX")
    assert resp[1] == b"* STATUS INBOX (MESSAGES 1 UNSEEN 1)\r\n"


def test_list_is_linear_on_hostile_patterns(wire: WireClient) -> None:
    pattern = b"*%" * 200 + b"!"
    resp = wire.command(b"a", b'LIST "" "' + pattern + b'"')
    assert resp == [b"a OK LIST completed\r\n"]


def test_namespace(wire: WireClient) -> None:
    assert wire.command(b"a", b"NAMESPACE") == [
        b'* NAMESPACE (("" "/")) (("Other Users/" "/")) (("Shared/" "/"))\r\n',
                                                 b"a OK NAMESPACE completed\r\n"]


def test_status_all_items(server: RunningServer, account: Account, wire: WireClient) -> None:
    raw = b"Subject: s\r\n\r\n12345\r\n"
    server.deliver(account, raw)
    resp = wire.command(b"a", b"STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED "
                              b"SIZE RECENT)")
    line = resp[0].decode()
    assert line.startswith("* STATUS INBOX (MESSAGES 1 UIDNEXT 2 UIDVALIDITY ")
    assert line.endswith(f"UNSEEN 1 DELETED 0 SIZE {len(raw)} RECENT 1)\r\n")
    assert wire.command(b"b", b"STATUS nope (MESSAGES)")[-1].startswith(b"b NO [NONEXISTENT]")
