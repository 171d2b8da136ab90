"""getmail6 retrieves over implicit TLS (``SimpleIMAPSSLRetriever`` with ``ca_certs``) into a
Maildir; with its own trace headers turned off, the bytes that arrive are the bytes that were
appended, and ``delete = false`` leaves the mail on the server."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Final

import pytest
from tests.clients.imapsession import make_message
from tests.clients.maildir import read_maildir
from tests.clients.processes import RunningServer, client_env, run_tool

pytestmark = [pytest.mark.clients, pytest.mark.tools("getmail")]

MDA_SCRIPT: Final = """\
import os, sys, uuid, pathlib
data = sys.stdin.buffer.read()
folder = pathlib.Path(sys.argv[1])
name = uuid.uuid4().hex
(folder / "tmp" / name).write_bytes(data)
os.rename(folder / "tmp" / name, folder / "new" / name)
"""


def test_getmail_retrieves_intact_bytes(tmp_path: Path, server: RunningServer,
                                        client_home: Path) -> None:
    account = server.account
    messages = {
        "getmail plain": make_message("getmail plain"),
        "getmail 8bit": make_message("getmail 8bit",
                                     extra_headers=["Content-Transfer-Encoding: 8bit"],
                                     raw_body=b"K\xc3\xb6ln \xe2\x80\x94 \xe9\xff\r\n.\r\n"),
        "getmail seen": make_message("getmail seen", "already read\n"),
    }
    with account.connect() as session:
        for subject, body in messages.items():
            session.append("INBOX", body, ["\\Seen"] if subject == "getmail seen" else [])

    # getmail's Maildir destination refuses to run as root (CI containers are root), so deliver
    # through an external MDA that writes a Maildir file; it works the same for any user.
    maildir = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    mda = tmp_path / "mda.py"
    mda.write_text(MDA_SCRIPT)
    rc = tmp_path / "getmailrc"
    rc.write_text(
        "[retriever]\n"
        "type = SimpleIMAPSSLRetriever\n"
        f"server = {account.tls_name}\n"
        f"port = {account.port}\n"
        f"username = {account.user}\n"
        f"password = {account.password}\n"
        f"ca_certs = {account.cert_path}\n"
        "mailboxes = (\"INBOX\",)\n"
        "record_mailbox = false\n"
        "\n"
        "[destination]\n"
        "type = MDA_external\n"
        f"path = {sys.executable}\n"
        f'arguments = ("{mda}", "{maildir}")\n'
        "unixfrom = false\n"
        "allow_root_commands = true\n"
        "\n"
        "[options]\n"
        "read_all = true\n"
        "delete = false\n"
        "delivered_to = false\n"
        "received = false\n"
        "verbose = 1\n"
    )
    rc.chmod(0o600)
    getmail_dir = tmp_path / "getmail-state"
    getmail_dir.mkdir()
    run_tool(["getmail", "--rcfile", str(rc), "--getmaildir", str(getmail_dir)],
             env=client_env(client_home), server_log=server.log_path)

    local = read_maildir(maildir)
    assert sorted(local) == sorted(messages)
    for subject, body in messages.items():
        # getmail hands the MDA LF line ends and prepends a Return-Path line (its envelope
        # sender); nothing else may change.
        first, rest = local[subject].content.split(b"\n", 1)
        assert first.startswith(b"Return-Path: "), first
        assert rest == body.replace(b"\r\n", b"\n"), subject

    with account.connect() as session:
        session.select("INBOX")
        on_server = sorted(m.body for m in session.fetch_all().values())
    assert on_server == sorted(messages.values())
