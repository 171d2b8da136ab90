"""Real clients in a shared mailbox (issue #6).

One ``mailfort serve`` of this module's own holds a team: ``ann`` and ``ben`` are members of
the group ``sales`` that owns ``Shared/sales``; ``cara`` is outside the group; ``dan`` has
nothing.

* mbsync: ann and ben each sync ``Shared/sales`` into their own Maildir; what one changes
  locally (a flag, a new message, a deletion) reaches the other through a sync. cara, given
  ``lr`` by an ACL grant alone, syncs it read-only: she gets every message, and nothing she
  changes locally reaches the server.
* imapclient (and the imaplib connection under it): GETACL, SETACL, DELETEACL, LISTRIGHTS,
  MYRIGHTS, GETQUOTAROOT and GETQUOTA against the server, each answer checked.

Under ``CI=true`` a missing mbsync fails the test instead of skipping it (conftest.py).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import imapclient  # type: ignore[import-untyped]
import pytest
from imapclient.exceptions import IMAPClientError  # type: ignore[import-untyped]
from tests.clients.imapsession import Account, ImapSession, make_message, quoted
from tests.clients.maildir import add_new, imap_flags, read_maildir, set_flags
from tests.clients.processes import RunningServer, client_env, run_tool
from tests.clients.test_mbsync import _write_rc
from tests.serverproc import MailfortProcess

pytestmark = [pytest.mark.clients]

SHARED: Final = "Shared/sales"
ANN: Final = "ann@example.test"
BEN: Final = "ben@example.test"
CARA: Final = "cara@example.test"
DAN: Final = "dan@example.test"


class Team:
    def __init__(self, proc: MailfortProcess, passwords: dict[str, str]) -> None:
        self.proc = proc
        self.passwords = passwords

    def account(self, user: str) -> Account:
        return Account(user, self.passwords[user], self.proc.imaps_port, self.proc.cert_path)


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    proc = MailfortProcess(tmp_path_factory.mktemp("mailfort"))
    proc.write_config()
    passwords = {user: proc.add_user(user) for user in (ANN, BEN, CARA, DAN)}
    proc.cli("group", "add", "sales")
    for user in (ANN, BEN):
        proc.cli("group", "member", "add", "sales", user)
    proc.cli("shared", "create", "sales", "--owner", "sales")
    try:
        proc.start()
    except Exception as exc:
        proc.stop()
        raise RuntimeError(f"mailfort serve did not start; server.log:\n"
                           f"{proc.log_text()[-4000:]}") from exc
    try:
        yield Team(proc, passwords)
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def server(team: Team) -> RunningServer:
    """Named ``server`` so that conftest's check (no traceback, no ERROR in the server log
    while a test runs) covers this module too."""
    return RunningServer(team.proc, team.account(ANN))


def _subjects(session: ImapSession, mailbox: str) -> dict[str, frozenset[str]]:
    session.select(mailbox)
    out: dict[str, frozenset[str]] = {}
    for msg in session.fetch_all().values():
        head = msg.body.split(b"\r\n\r\n", 1)[0]
        subject = next(line.split(b":", 1)[1].strip().decode()
                       for line in head.split(b"\r\n") if line.lower().startswith(b"subject:"))
        out[subject] = msg.flags
    return out


def _local(maildir: Path) -> dict[str, frozenset[str]]:
    return {s: imap_flags(m.flags) for s, m in read_maildir(maildir / SHARED).items()}


@pytest.mark.tools("mbsync")
def test_two_group_members_sync_the_shared_mailbox(tmp_path: Path, team: Team,
                                                   server: RunningServer,
                                                   client_home: Path) -> None:
    def setup(user: str) -> tuple[Path, Path]:
        home = tmp_path / user.split("@")[0]
        home.mkdir()
        maildir = home / "Mail"
        maildir.mkdir()
        return maildir, _write_rc(home, team.account(user), maildir,
                                  patterns=quoted(SHARED), create="Near")

    def sync(rc: Path) -> None:
        run_tool(["mbsync", "-c", str(rc), "mailfort"], env=client_env(client_home),
                 server_log=server.log_path)

    (ann_dir, ann_rc), (ben_dir, ben_rc) = setup(ANN), setup(BEN)
    with team.account(ANN).connect() as ann:
        for i in range(3):
            ann.append(SHARED, make_message(f"team {i}"), ["\\Seen"] if i == 0 else [])
        expected = {"team 0": frozenset({"\\Seen"}), "team 1": frozenset(),
                    "team 2": frozenset()}

        sync(ann_rc)
        sync(ben_rc)
        assert _local(ann_dir) == expected
        assert _local(ben_dir) == expected

        # ann flags one message and writes a new one, locally; a sync pushes both up...
        local = read_maildir(ann_dir / SHARED)
        set_flags(local["team 1"], {"F"})
        add_new(ann_dir / SHARED, make_message("from ann").replace(b"\r\n", b"\n"), 1)
        expected["team 1"] = frozenset({"\\Flagged"})
        expected["from ann"] = frozenset()
        sync(ann_rc)
        assert _subjects(ann, SHARED) == expected
        # ...and ben's next sync brings them down.
        sync(ben_rc)
        assert _local(ben_dir) == expected

        # ben deletes a message locally: gone on the server, then from ann's Maildir.
        read_maildir(ben_dir / SHARED)["team 2"].path.unlink()
        del expected["team 2"]
        sync(ben_rc)
        assert _subjects(ann, SHARED) == expected
        sync(ann_rc)
        assert _local(ann_dir) == expected


@pytest.mark.tools("mbsync")
def test_a_read_only_grant_syncs_down_and_changes_nothing(tmp_path: Path, team: Team,
                                                          server: RunningServer,
                                                          client_home: Path) -> None:
    team.proc.cli("acl", "set", "Shared/sales", CARA, "lr")
    with team.account(ANN).connect() as ann:
        ann.append(SHARED, make_message("for cara to read"))
        before = _subjects(ann, SHARED)
    home = tmp_path / "cara"
    home.mkdir()
    maildir = home / "Mail"
    maildir.mkdir()
    rc = _write_rc(home, team.account(CARA), maildir, patterns=quoted(SHARED), create="Near")
    env = client_env(client_home)
    run_tool(["mbsync", "-c", str(rc), "mailfort"], env=env, server_log=server.log_path)
    assert sorted(_local(maildir)) == sorted(before)

    # Local changes cannot reach a mailbox cara may only read. mbsync may report the
    # refusals (exit 1): what matters is that the server is unchanged.
    local = read_maildir(maildir / SHARED)
    set_flags(local["for cara to read"], {"F", "S"})
    add_new(maildir / SHARED, make_message("cara tries").replace(b"\r\n", b"\n"), 7)
    run_tool(["mbsync", "-c", str(rc), "mailfort"], env=env, server_log=server.log_path,
             ok_codes=(0, 1))
    with team.account(ANN).connect() as ann:
        assert _subjects(ann, SHARED) == before


# ---- imapclient: the ACL and QUOTA commands ------------------------------------------------------
def _client(team: Team, user: str) -> imapclient.IMAPClient:
    ctx = ssl.create_default_context(cafile=str(team.proc.cert_path))
    client = imapclient.IMAPClient("127.0.0.1", port=team.proc.imaps_port, ssl=True,
                                   ssl_context=ctx, timeout=20)
    client.login(user, team.passwords[user])
    return client


def _untagged(client: imapclient.IMAPClient, command: bytes, *args: bytes) -> list[bytes]:
    """A command imapclient has no method for, through its raw path; the untagged data."""
    data = client._raw_command_untagged(command, list(args), uid=False)  # noqa: SLF001
    return [d for d in data if isinstance(d, bytes)]


def test_imapclient_acl_and_quota_commands(team: Team, server: RunningServer) -> None:
    team.proc.cli("acl", "set", "Shared/sales", ANN, "+a")  # ann may administer the ACL
    ann = _client(team, ANN)
    cara = _client(team, CARA)
    dan = _client(team, DAN)
    try:
        assert b"ACL" in ann.capabilities() and b"QUOTA" in ann.capabilities()

        # MYRIGHTS: the group's implicit rights plus the granted "a".
        assert _untagged(ann, b"MYRIGHTS", SHARED.encode()) == [
            b'"Shared/sales" lrswipkxteacd']

        # SETACL / GETACL: cara gets "lr"; the owner group is listed first.
        ann.setacl(SHARED, CARA, "lr")
        acl = {bytes(who): bytes(rights) for who, rights in ann.getacl(SHARED)}
        assert acl[b"$sales"] == b"lrswipkxte"
        assert acl[CARA.encode()] == b"lr"
        assert _untagged(cara, b"MYRIGHTS", SHARED.encode()) == [b'"Shared/sales" lr']

        # LISTRIGHTS: nothing is required for cara, every right may be granted.
        assert _untagged(ann, b"LISTRIGHTS", SHARED.encode(), CARA.encode()) == [
            b'"Shared/sales" ' + CARA.encode() + b' "" l r s w i p k x t e a']

        # cara, with "lr" only, may not administer: NOPERM, and GETACL likewise.
        with pytest.raises(IMAPClientError, match="NOPERM"):
            cara.setacl(SHARED, DAN, "lr")
        with pytest.raises(IMAPClientError, match="NOPERM"):
            cara.getacl(SHARED)

        # DELETEACL: cara's entry goes, and with it her view of the mailbox.
        _untagged(ann, b"DELETEACL", SHARED.encode(), CARA.encode())
        assert CARA.encode() not in {bytes(w) for w, _ in ann.getacl(SHARED)}
        with pytest.raises(IMAPClientError, match="NONEXISTENT"):
            _untagged(cara, b"MYRIGHTS", SHARED.encode())

        # GETQUOTAROOT / GETQUOTA: the shared tree is its own root; no limits set, so the
        # QUOTA list is empty (RFC 9208 §5.1); after `mailfort quota set` it shows the limit.
        roots, quotas = ann.get_quota_root(SHARED)
        assert roots.mailbox == SHARED and roots.quota_roots == [SHARED]
        assert quotas == []
        team.proc.cli("quota", "set", "Shared/sales", "--messages", "1000")
        roots, quotas = ann.get_quota_root(SHARED)
        assert [(q.quota_root, q.resource, q.limit) for q in quotas] == [
            (SHARED, "MESSAGE", 1000)]
        assert [(q.resource, q.limit) for q in ann._get_quota(SHARED)] == [  # noqa: SLF001
            ("MESSAGE", 1000)]
        assert ann.get_quota_root("INBOX")[0].quota_roots == [""]

        # dan has nothing: the shared tree does not exist for him.
        with pytest.raises(IMAPClientError, match="NONEXISTENT"):
            dan.getacl(SHARED)
        with pytest.raises(IMAPClientError, match="NONEXISTENT"):
            dan._get_quota(SHARED)  # noqa: SLF001
    finally:
        for c in (ann, cara, dan):
            c.logout()
