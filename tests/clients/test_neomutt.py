"""neomutt, driven in a detached tmux session, opens INBOX over imaps:// (certificate trusted
through ``certificate_file``) and shows known subjects in its index; mail delivered meanwhile
appears; a message read becomes \\Seen and a message deleted is expunged when it quits."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest
from tests.clients.conftest import require_tool
from tests.clients.imapsession import make_message
from tests.clients.processes import RunningServer, client_env

pytestmark = [pytest.mark.clients, pytest.mark.tools("neomutt", "tmux")]

SESSION: Final = "mailfort-neomutt"
WAIT_S: Final = 30.0
POLL_S: Final = 0.2


class Tmux:
    """A private tmux server (its own socket), so the test never touches a user's sessions."""

    def __init__(self, program: str, socket: Path, env: dict[str, str]) -> None:
        self.program = program
        self.socket = socket
        self.env = env

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.program, "-S", str(self.socket), *args],  # noqa: S603
                              env=self.env,
                              capture_output=True, text=True, timeout=10, check=check)

    def capture(self) -> str:
        result = self.run("capture-pane", "-p", "-t", SESSION, check=False)
        return result.stdout if result.returncode == 0 else ""

    def is_alive(self) -> bool:
        return self.run("has-session", "-t", SESSION, check=False).returncode == 0

    def wait_for(self, text: str, what: str, server: RunningServer, *,
                 absent: str | None = None) -> str:
        """Poll the pane until it shows ``text`` (and not ``absent``), within WAIT_S."""
        deadline = time.monotonic() + WAIT_S
        screen = ""
        while time.monotonic() < deadline:
            screen = self.capture()
            if text in screen and (absent is None or absent not in screen):
                return screen
            if not self.is_alive():
                break
            time.sleep(POLL_S)  # polling the pane, bounded by the deadline
        raise AssertionError(f"{what}: {text!r} not on screen within {WAIT_S} s\n"
                             f"--- screen\n{screen}\n--- server log (tail)\n"
                             f"{server.log_tail()}")


@pytest.fixture()
def tmux(tmp_path: Path, client_home: Path) -> Iterator[Tmux]:
    mux = Tmux(require_tool("tmux"), tmp_path / "tmux.sock", client_env(client_home))
    try:
        yield mux
    finally:
        mux.run("kill-server", check=False)


def limit_to(tmux: Tmux, server: RunningServer, subject_part: str, *, shown: str,
             hidden: str) -> None:
    """Limit the index to messages whose subject contains ``subject_part``."""
    tmux.run("send-keys", "-t", SESSION, "l")
    tmux.wait_for("Limit to messages matching:", "limit prompt", server)
    tmux.run("send-keys", "-t", SESSION, f"~s '{subject_part}'", "Enter")
    tmux.wait_for(shown, f"index limited to {subject_part!r}", server, absent=hidden)


def _write_muttrc(tmp: Path, server: RunningServer) -> Path:
    account = server.account
    # neomutt trusts the certificates in certificate_file; pre-seed it with the server's.
    certs = tmp / "neomutt-certificates"
    certs.write_bytes(account.cert_path.read_bytes())
    muttrc = tmp / "muttrc"
    muttrc.write_text(
        f'set folder = "imaps://{account.tls_name}:{account.port}/"\n'
        'set spoolfile = "+INBOX"\n'
        f'set imap_user = "{account.user}"\n'
        f'set imap_pass = "{account.password}"\n'
        f'set certificate_file = "{certs}"\n'
        "set ssl_force_tls = yes\n"
        "set ssl_verify_host = yes\n"
        'set header_cache = ""\n'
        'set message_cachedir = ""\n'
        "set imap_passive = yes\n"
        "set imap_check_subscribed = no\n"
        "set mail_check_stats = no\n"
        "set quit = yes\n"
        "set confirmappend = no\n"
        "set sort = date\n"
        "set wait_key = no\n"
        "set delete = yes\n"
        # New mail while open: IDLE, and a check whenever the keyboard is quiet for a second.
        "set imap_idle = yes\n"
        "set mail_check = 1\n"
        "set timeout = 1\n"
    )
    muttrc.chmod(0o600)
    return muttrc


def test_neomutt_reads_deletes_and_sees_new_mail(tmp_path: Path, server: RunningServer,
                                        tmux: Tmux) -> None:
    subjects = ["neomutt sees this one", "another neomutt message"]
    with server.account.connect() as session:
        for subject in subjects:
            session.append("INBOX", make_message(subject))
    muttrc = _write_muttrc(tmp_path, server)

    tmux.run("new-session", "-d", "-s", SESSION, "-x", "200", "-y", "50",
             f"neomutt -n -F {muttrc}")
    screen = tmux.wait_for(subjects[0], "neomutt index", server)
    assert subjects[1] in screen
    assert "INBOX" in screen

    # New mail delivered while neomutt has INBOX open shows up in its index.
    arrival = "neomutt new arrival"
    with server.account.connect() as session:
        session.append("INBOX", make_message(arrival))
    tmux.wait_for(arrival, "new mail in the open mailbox", server)

    # Delete one message (expunged when neomutt syncs on quit).
    limit_to(tmux, server, "another neomutt", shown=subjects[1], hidden=subjects[0])
    tmux.run("send-keys", "-t", SESSION, "d")
    # Open another one: the pager shows its body.
    limit_to(tmux, server, "neomutt sees", shown=subjects[0], hidden=subjects[1])
    tmux.run("send-keys", "-t", SESSION, "Enter")
    tmux.wait_for(f"Body of {subjects[0]}.", "pager", server)
    tmux.run("send-keys", "-t", SESSION, "q")  # pager -> index
    tmux.wait_for(subjects[0], "back in the index", server, absent="Second line.")

    tmux.run("send-keys", "-t", SESSION, "q")  # quit, syncing the mailbox
    deadline = time.monotonic() + WAIT_S
    while tmux.is_alive() and time.monotonic() < deadline:
        time.sleep(POLL_S)  # polling for neomutt to exit, bounded by the deadline
    assert not tmux.is_alive(), f"neomutt did not quit:\n{tmux.capture()}"

    # On the server: the message read is \Seen, the deleted one is gone, the new one unread.
    with server.account.connect() as session:
        session.select("INBOX")
        seen = {m.body: "\\Seen" in m.flags for m in session.fetch_all().values()}
    assert seen == {make_message(subjects[0]): True, make_message(arrival): False}
