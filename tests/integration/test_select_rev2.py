"""RFC 9051 §6.3.2: after ENABLE IMAP4rev2, SELECT answers with a LIST response for the
mailbox; IMAP4rev1 sessions get RECENT and UNSEEN instead."""

from __future__ import annotations

from tests.integration.imapwire import WireClient


def test_rev2_select_sends_list_and_no_recent(wire: WireClient) -> None:
    assert wire.command(b"e", b"ENABLE IMAP4rev2")[-1].startswith(b"e OK")
    resp = wire.command(b"s", b"SELECT Sent")
    assert b'* LIST (\\Sent) "/" "Sent"\r\n' in resp or b'* LIST (\\Sent) "/" Sent\r\n' in resp
    assert not any(line.endswith(b" RECENT\r\n") for line in resp)
    assert resp[-1].startswith(b"s OK [READ-WRITE]")


def test_rev1_select_has_recent_and_no_list(wire: WireClient) -> None:
    resp = wire.command(b"s", b"SELECT INBOX")
    assert any(line.endswith(b" RECENT\r\n") for line in resp)
    assert not any(line.startswith(b"* LIST ") for line in resp)
