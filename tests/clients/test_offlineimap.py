"""offlineimap one-shot sync (``offlineimap -o -u basic``) into an empty Maildir: every folder,
every message, every flag, byte for byte; then a second run carries local flag changes and a
local deletion up to the server."""

from __future__ import annotations

from pathlib import Path
from typing import Final

import pytest
from tests.clients.imapsession import Account, make_message
from tests.clients.maildir import letters, read_maildir, set_flags
from tests.clients.processes import RunningServer, client_env, run_tool

pytestmark = [pytest.mark.clients, pytest.mark.tools("offlineimap")]

# Folder -> [(subject, flags)]. Sent, Drafts and Archive are created for every new account.
SEED: Final[dict[str, list[tuple[str, tuple[str, ...]]]]] = {
    "INBOX": [(f"oi inbox {i:02d}", fl) for i, fl in enumerate(
        [(), ("\\Seen",), ("\\Seen", "\\Flagged"), ("\\Answered", "\\Seen"), ("\\Flagged",),
         ("\\Deleted",), (), ("\\Seen",)])],
    "Sent": [(f"oi sent {i}", ("\\Seen",)) for i in range(3)],
    "Drafts": [("oi draft 0", ("\\Draft",)), ("oi draft 1", ("\\Draft", "\\Seen"))],
    "Archive": [(f"oi archive {i}", ("\\Seen", "\\Answered")) for i in range(4)],
}


def _write_rc(tmp: Path, account: Account, maildir: Path) -> Path:
    rc = tmp / "offlineimaprc"
    rc.write_text(
        "[general]\n"
        "accounts = mailfort\n"
        f"metadata = {tmp / 'offlineimap-meta'}\n"
        "maxsyncaccounts = 1\n"
        "\n"
        "[Account mailfort]\n"
        "localrepository = local\n"
        "remoterepository = remote\n"
        "\n"
        "[Repository local]\n"
        "type = Maildir\n"
        f"localfolders = {maildir}\n"
        "\n"
        "[Repository remote]\n"
        "type = IMAP\n"
        f"remotehost = {account.tls_name}\n"
        f"remoteport = {account.port}\n"
        f"remoteuser = {account.user}\n"
        f"remotepass = {account.password}\n"
        "ssl = yes\n"
        f"sslcacertfile = {account.cert_path}\n"
        "maxconnections = 1\n"
        "holdconnectionopen = no\n"
        "createfolders = False\n"
    )
    rc.chmod(0o600)
    return rc


def test_one_shot_sync_brings_every_folder_and_flag(tmp_path: Path, server: RunningServer,
                                                   client_home: Path) -> None:
    account = server.account
    sent: dict[tuple[str, str], tuple[bytes, frozenset[str]]] = {}
    with account.connect() as session:
        existing = set(session.mailboxes())
        for folder, messages in SEED.items():
            if folder not in existing:
                session.create(folder)
            for subject, flags in messages:
                body = make_message(subject, f"Folder {folder}.\nCaf\u00e9 \u2713\n")
                session.append(folder, body, flags)
                sent[(folder, subject)] = (body, frozenset(flags))

    maildir = tmp_path / "Mail"
    rc = _write_rc(tmp_path, account, maildir)
    run_tool(["offlineimap", "-o", "-u", "basic", "-c", str(rc)], env=client_env(client_home),
             server_log=server.log_path)

    for folder, messages in SEED.items():
        local = read_maildir(maildir / folder)
        assert sorted(local) == sorted(s for s, _ in messages), f"folder {folder}"
        for subject, _ in messages:
            body, sent_flags = sent[(folder, subject)]
            msg = local[subject]
            assert msg.flags == letters(sent_flags), f"{folder}/{subject}: {msg.path.name}"
            assert msg.content.replace(b"\r\n", b"\n") == body.replace(b"\r\n", b"\n"), \
                f"{folder}/{subject} content differs"

    # A second run carries local changes up: a flag set, a flag cleared, a message deleted.
    inbox = read_maildir(maildir / "INBOX")
    set_flags(inbox["oi inbox 00"], {"F", "S"})
    set_flags(inbox["oi inbox 02"], {"S"})            # was S+F: unflag
    inbox["oi inbox 07"].path.unlink()
    run_tool(["offlineimap", "-o", "-u", "basic", "-c", str(rc)], env=client_env(client_home),
             server_log=server.log_path)
    with account.connect() as session:
        session.select("INBOX")
        by_body = {m.body: m.flags for m in session.fetch_all().values()}
    flags_of = {subject: by_body.get(sent[("INBOX", subject)][0]) for subject, _ in SEED["INBOX"]}
    assert flags_of["oi inbox 00"] == frozenset({"\\Flagged", "\\Seen"})
    assert flags_of["oi inbox 02"] == frozenset({"\\Seen"})
    assert flags_of["oi inbox 07"] is None, "deleted locally, still on the server"
    assert flags_of["oi inbox 01"] == frozenset({"\\Seen"}), "an untouched message changed"
