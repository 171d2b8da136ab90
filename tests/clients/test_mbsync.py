"""mbsync (isync) two-way sync against ``mailfort serve`` over implicit TLS.

200 messages seeded by APPEND are pulled into an empty Maildir; then both sides change (flags
set and cleared, messages deleted, messages added) and a second sync must make them agree; a
third sync with nothing changed must change nothing on either side.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Final

import pytest
from tests.clients.conftest import require_tool
from tests.clients.imapsession import Account, ImapSession, ServerMessage, make_message
from tests.clients.maildir import (
    add_new,
    fingerprint,
    imap_flags,
    letters,
    read_maildir,
    set_flags,
)
from tests.clients.processes import RunningServer, client_env, run_tool

pytestmark = [pytest.mark.clients, pytest.mark.tools("mbsync")]

COUNT: Final = 200


def _subject(i: int) -> str:
    return f"mbsync {i:03d}"


def _initial_flags(i: int) -> frozenset[str]:
    flags = set()
    if i % 10 == 0:
        flags.add("\\Seen")
    if i % 25 == 0:
        flags.add("\\Flagged")
    if i % 40 == 1:
        flags.add("\\Answered")
    return frozenset(flags)


def _tls_keyword() -> str:
    """isync 1.5 renamed ``SSLType`` to ``TLSType``; 1.4 (Debian 12) knows only the old name."""
    out = subprocess.run([require_tool("mbsync"), "--version"],  # noqa: S603
                         capture_output=True, text=True, timeout=10, check=False).stdout
    m = re.search(r"(\d+)\.(\d+)", out)
    assert m, f"cannot read the mbsync version from {out!r}"
    return "TLSType" if (int(m.group(1)), int(m.group(2))) >= (1, 5) else "SSLType"


def _write_rc(tmp: Path, account: Account, maildir: Path, *, patterns: str = "INBOX",
              create: str = "Near") -> Path:
    secret = tmp / "imap-password"
    secret.write_text(account.password + "\n")
    secret.chmod(0o600)
    rc = tmp / "mbsyncrc"
    rc.write_text(
        "IMAPAccount mailfort\n"
        f"Host {account.tls_name}\n"
        f"Port {account.port}\n"
        f'User "{account.user}"\n'
        f'PassCmd "cat {secret}"\n'
        "AuthMechs LOGIN\n"
        f"{_tls_keyword()} IMAPS\n"
        f"CertificateFile {account.cert_path}\n"
        "SystemCertificates no\n"
        "\n"
        "IMAPStore mailfort-far\n"
        "Account mailfort\n"
        "\n"
        "MaildirStore local-near\n"
        f"Path {maildir}/\n"
        f"Inbox {maildir}/INBOX\n"
        "SubFolders Verbatim\n"
        "\n"
        "Channel mailfort\n"
        "Far :mailfort-far:\n"
        "Near :local-near:\n"
        f"Patterns {patterns}\n"
        f"Create {create}\n"
        "Expunge Both\n"
        "SyncState *\n"
        "Sync All\n"
    )
    rc.chmod(0o600)
    return rc


def _server_state(session: ImapSession, mailbox: str = "INBOX") -> dict[str, ServerMessage]:
    session.select(mailbox)
    out: dict[str, ServerMessage] = {}
    for msg in session.fetch_all().values():
        subject = _subject_of(msg.body)
        assert subject not in out, f"two server copies of {subject!r}"
        out[subject] = msg
    return out


def _subject_of(body: bytes) -> str:
    for line in body.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if line.lower().startswith(b"subject:"):
            return line.split(b":", 1)[1].strip().decode()
    raise AssertionError(f"no Subject in {body[:200]!r}")


def _normalized(content: bytes) -> bytes:
    """Line ends as LF, and without the ``X-TUID`` header isync adds to track a message it
    copies: the rest must be byte-identical on both sides."""
    head, sep, body = content.replace(b"\r\n", b"\n").partition(b"\n\n")
    lines = [line for line in head.split(b"\n") if not line.lower().startswith(b"x-tuid:")]
    return b"\n".join(lines) + sep + body


def _assert_converged(session: ImapSession, inbox: Path,
                      expected: dict[str, frozenset[str]]) -> None:
    server = _server_state(session)
    local = read_maildir(inbox)
    assert sorted(server) == sorted(expected), "server holds the wrong set of messages"
    assert sorted(local) == sorted(expected), "the Maildir holds the wrong set of messages"
    wrong_server = {s: sorted(server[s].flags) for s in expected
                    if server[s].flags != expected[s]}
    wrong_local = {s: "".join(sorted(local[s].flags)) for s in expected
                   if imap_flags(local[s].flags) != expected[s]}
    assert not wrong_server, f"server flags differ from expected: {wrong_server}"
    assert not wrong_local, f"local flags differ from expected: {wrong_local}"
    for s in expected:
        assert _normalized(local[s].content) == _normalized(server[s].body), s


def test_two_way_sync_converges(tmp_path: Path, server: RunningServer,
                                client_home: Path) -> None:
    account = server.account
    maildir = tmp_path / "Mail"
    maildir.mkdir()
    inbox = maildir / "INBOX"
    rc = _write_rc(tmp_path, account, maildir)
    env = client_env(client_home)

    def mbsync() -> str:
        result = run_tool(["mbsync", "-c", str(rc), "mailfort"], env=env,
                          server_log=server.log_path)
        return result.stdout + result.stderr

    expected: dict[str, frozenset[str]] = {}
    with account.connect() as session:
        for i in range(COUNT):
            session.append("INBOX", make_message(_subject(i)), _initial_flags(i))
            expected[_subject(i)] = _initial_flags(i)

        # 1. Into an empty Maildir: everything arrives with its flags.
        mbsync()
        _assert_converged(session, inbox, expected)

        # 2. Local changes, as a MUA makes them.
        local = read_maildir(inbox)
        for i in range(0, 10):          # mark seen
            expected[_subject(i)] |= {"\\Seen"}
        for i in range(11, 21):         # flag
            expected[_subject(i)] |= {"\\Flagged"}
        for i in (50, 60, 70, 80):      # seen -> unseen
            expected[_subject(i)] -= {"\\Seen"}
        for i in list(range(0, 21)) + [50, 60, 70, 80]:
            set_flags(local[_subject(i)], letters(expected[_subject(i)]))
        for i in range(21, 31):         # delete locally
            local[_subject(i)].path.unlink()
            del expected[_subject(i)]
        for k in range(3):              # new local messages, pushed up
            subject = f"mbsync local {k}"
            add_new(inbox, make_message(subject).replace(b"\r\n", b"\n"), k)
            expected[subject] = frozenset()

        # 3. Server changes, as another client makes them.
        uid_of = {s: m.uid for s, m in _server_state(session).items()}
        seen_now = [_subject(i) for i in range(31, 41)]
        session.uid_store([uid_of[s] for s in seen_now], "+FLAGS", ["\\Seen"])
        answered_now = [_subject(i) for i in range(101, 111)]
        session.uid_store([uid_of[s] for s in answered_now], "+FLAGS", ["\\Answered"])
        unflag_now = [_subject(i) for i in (100, 125, 150, 175)]
        session.uid_store([uid_of[s] for s in unflag_now], "-FLAGS", ["\\Flagged"])
        for s in seen_now:
            expected[s] |= {"\\Seen"}
        for s in answered_now:
            expected[s] |= {"\\Answered"}
        for s in unflag_now:
            expected[s] -= {"\\Flagged"}
        gone = [_subject(i) for i in range(41, 49)]
        session.uid_store([uid_of[s] for s in gone], "+FLAGS.SILENT", ["\\Deleted"])
        session.expunge()
        for s in gone:
            del expected[s]
        for k in range(3):
            subject = f"mbsync remote {k}"
            session.append("INBOX", make_message(subject), ["\\Flagged"] if k else [])
            expected[subject] = frozenset({"\\Flagged"} if k else set())

        # 4. One sync makes both sides agree.
        mbsync()
        _assert_converged(session, inbox, expected)

        # 5. Nothing changed: a sync changes nothing on either side.
        before_local = fingerprint(inbox)
        before_server = (session.status("INBOX", ["MESSAGES", "UIDNEXT", "UIDVALIDITY"]),
                         _server_state(session))
        mbsync()
        assert fingerprint(inbox) == before_local
        after_server = (session.status("INBOX", ["MESSAGES", "UIDNEXT", "UIDVALIDITY"]),
                        _server_state(session))
        assert after_server == before_server


def test_folders_are_created_both_ways(tmp_path: Path, server: RunningServer,
                                       client_home: Path) -> None:
    """Server folders appear locally, a new local folder (with a space in its name) is
    created on the server, and every message lands in the right place on both sides."""
    account = server.account
    maildir = tmp_path / "Mail"
    maildir.mkdir()
    server_side = {"Archive": ["archived 0", "archived 1", "archived 2"],
                   "Projects": ["project 0", "project 1"]}
    with account.connect() as session:
        existing = session.mailboxes()
        for folder, subjects in server_side.items():
            if folder not in existing:  # Archive is made with every account; Projects is not
                session.create(folder)
            for subject in subjects:
                session.append(folder, make_message(subject), ["\\Seen"])
    local_only = maildir / "Local Only"
    for sub in ("cur", "new", "tmp"):
        (local_only / sub).mkdir(parents=True)
    for k in range(2):
        add_new(local_only, make_message(f"local only {k}").replace(b"\r\n", b"\n"), k)

    rc = _write_rc(tmp_path, account, maildir, patterns='Archive Projects "Local Only"',
                   create="Both")
    env = client_env(client_home)
    run_tool(["mbsync", "-c", str(rc), "mailfort"], env=env, server_log=server.log_path)

    with account.connect() as session:
        assert "Local Only" in session.mailboxes()
        pushed = _server_state(session, "Local Only")
        assert sorted(pushed) == ["local only 0", "local only 1"]
        for folder, subjects in server_side.items():
            local = read_maildir(maildir / folder)
            assert sorted(local) == sorted(subjects), folder
            assert all(m.flags == {"S"} for m in local.values()), folder
        assert sorted(read_maildir(local_only)) == ["local only 0", "local only 1"]

        # And again with nothing changed: nothing changes.
        before = {f: fingerprint(maildir / f) for f in [*server_side, "Local Only"]}
        before_server = {f: _server_state(session, f) for f in [*server_side, "Local Only"]}
        run_tool(["mbsync", "-c", str(rc), "mailfort"], env=env, server_log=server.log_path)
        assert {f: fingerprint(maildir / f) for f in before} == before
        assert {f: _server_state(session, f) for f in before_server} == before_server
