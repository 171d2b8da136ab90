"""A real client library (imapclient) against the server, end to end."""

from __future__ import annotations

import imapclient  # type: ignore[import-untyped]
from tests.conftest import Account, RunningServer


def test_imapclient_round_trip(server: RunningServer, account: Account) -> None:
    with imapclient.IMAPClient("127.0.0.1", port=server.imaps_port, ssl=True,
                               ssl_context=server.client_context(), timeout=10) as c:
        c.login(account.username, account.password)
        assert b"MOVE" in c.capabilities()
        folders = {f[2] for f in c.list_folders()}
        assert {"INBOX", "Sent", "Trash"} <= folders
        c.create_folder("Reports")
        c.append("Reports", b"Subject: r1\r\n\r\nfirst\r\n", flags=[imapclient.SEEN])
        info = c.select_folder("Reports")
        assert info[b"EXISTS"] == 1
        uids = c.search(["SUBJECT", "r1"])
        assert len(uids) == 1
        data = c.fetch(uids, ["FLAGS", "BODY.PEEK[TEXT]", "ENVELOPE"])
        msg = data[uids[0]]
        assert msg[b"BODY[TEXT]"] == b"first\r\n"
        assert msg[b"ENVELOPE"].subject == b"r1"
        c.add_flags(uids, [imapclient.FLAGGED])
        assert imapclient.FLAGGED in c.get_flags(uids)[uids[0]]
        c.move(uids, "Archive")
        assert c.search(["ALL"]) == []
        status = c.folder_status("Archive", ["MESSAGES"])
        assert status[b"MESSAGES"] == 1
        c.idle()
        server.deliver(account, b"Subject: pushed\r\n\r\nx\r\n", mailbox="Reports")
        responses = c.idle_check(timeout=5)
        c.idle_done()
        assert (1, b"EXISTS") in responses
        c.logout()
