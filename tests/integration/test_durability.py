"""Durability of APPEND under ``kill -9`` (DESIGN.md, "Delivery": OK is sent only after the
commit; a crash at any point leaves either the whole message or none).

- An APPEND whose tagged OK has arrived survives an immediate SIGKILL: after a restart on the
  same data directory the message is there with the same UID (APPENDUID), UIDVALIDITY and bytes.
- An APPEND cut off mid-literal (the client closes the socket) never appears, before or after
  a crash.
- Up to 20 rounds (at least 8, within a time budget) of append-then-kill, with a second
  client's APPEND in flight at the moment of the kill: every acknowledged message survives
  unchanged; an unacknowledged one is whole or absent.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest
from tests.clients.imapsession import Account, ServerMessage, make_message
from tests.serverproc import MailfortProcess

USER: Final = "durable@example.test"
IO_TIMEOUT_S: Final = 15.0
ROUNDS: Final = 20
# Each round restarts the server (~1 s, more on a busy machine): stop early once this budget is
# spent, but never before MIN_ROUNDS, to keep the suite fast.
ROUNDS_BUDGET_S: Final = 18.0
MIN_ROUNDS: Final = 8


@pytest.fixture()
def mailfort(tmp_path: Path) -> Iterator[tuple[MailfortProcess, Account]]:
    proc = MailfortProcess(tmp_path / "server")
    proc.write_config()
    password = proc.add_user(USER)
    proc.start()
    try:
        yield proc, Account(USER, password, proc.imaps_port, proc.cert_path)
    finally:
        proc.kill()
    # A killed client or a half literal is no server fault: no traceback, ever.
    assert "Traceback" not in proc.log_text(), proc.log_text()[-4000:]


def _restart(proc: MailfortProcess) -> None:
    try:
        proc.start()
    except Exception as exc:
        raise AssertionError(f"restart after SIGKILL failed; server.log:\n"
                             f"{proc.log_text()[-4000:]}") from exc


def _inbox(account: Account) -> tuple[int, dict[int, ServerMessage]]:
    with account.connect() as session:
        uidvalidity = session.status("INBOX", ["UIDVALIDITY"])["UIDVALIDITY"]
        session.select("INBOX")
        return uidvalidity, session.fetch_all()


class RawImap:
    """A bare TLS connection for the exchanges imaplib cannot make: a literal cut off halfway,
    an APPEND sent without waiting for its answer."""

    def __init__(self, account: Account) -> None:
        raw = socket.create_connection((account.host, account.port), timeout=IO_TIMEOUT_S)
        self.sock = account.ssl_context().wrap_socket(raw, server_hostname=account.tls_name)
        self.buffer = b""
        greeting = self.read_line()
        assert greeting.startswith(b"* OK"), greeting
        self.send(b'a1 LOGIN "%s" "%s"\r\n' % (account.user.encode(), account.password.encode()))
        reply = self.read_until_tagged(b"a1")
        assert reply.startswith(b"a1 OK"), reply

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError(f"server closed the connection; pending {self.buffer!r}")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def read_until_tagged(self, tag: bytes) -> bytes:
        while True:
            line = self.read_line()
            if line.startswith(tag + b" "):
                return line

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def test_acknowledged_append_survives_sigkill(mailfort: tuple[MailfortProcess, Account]
                                              ) -> None:
    proc, account = mailfort
    message = make_message("durable after kill -9", "Must survive.\n" * 50)
    session = account.connect()
    uidvalidity = session.status("INBOX", ["UIDVALIDITY"])["UIDVALIDITY"]
    uid = session.append("INBOX", message, ["\\Flagged"])
    proc.kill()  # the tagged OK is in: nothing more may be needed to keep the message
    session.close()

    _restart(proc)
    after_validity, messages = _inbox(account)
    assert after_validity == uidvalidity
    assert list(messages) == [uid]
    assert messages[uid].body == message
    assert messages[uid].flags == {"\\Flagged"}


@pytest.mark.parametrize("literal_plus", [False, True], ids=["sync", "literal+"])
def test_append_cut_off_mid_literal_never_appears(mailfort: tuple[MailfortProcess, Account],
                                                  literal_plus: bool) -> None:
    proc, account = mailfort
    # A non-synchronising literal stays under 4096 octets (RFC 7888 LITERAL-), so the server
    # takes it rather than refusing it outright.
    partial = make_message("half a message", "x" * (3000 if literal_plus else 20000))
    raw = RawImap(account)
    marker = b"+" if literal_plus else b""
    raw.send(b"a2 APPEND INBOX (\\Seen) {%d%s}\r\n" % (len(partial), marker))
    if not literal_plus:
        cont = raw.read_line()
        assert cont.startswith(b"+"), cont
    raw.send(partial[: len(partial) // 2])
    raw.close()

    # The server is still serving, and only the complete message is there.
    complete = make_message("complete message")
    with account.connect() as session:
        uid = session.append("INBOX", complete)
    _, messages = _inbox(account)
    assert {u: m.body for u, m in messages.items()} == {uid: complete}

    # Nor does the half message turn up after a crash and restart.
    proc.kill()
    _restart(proc)
    _, messages = _inbox(account)
    assert {u: m.body for u, m in messages.items()} == {uid: complete}


def test_append_then_kill_rounds(mailfort: tuple[MailfortProcess, Account]) -> None:
    proc, account = mailfort
    acknowledged: dict[int, bytes] = {}
    in_flight: set[bytes] = set()
    uidvalidity = _inbox(account)[0]
    started = time.monotonic()
    for round_no in range(ROUNDS):
        if round_no >= MIN_ROUNDS and time.monotonic() - started > ROUNDS_BUDGET_S:
            break
        if round_no:
            _restart(proc)
        # A second client fires an APPEND (non-synchronising literal) without waiting.
        racer = RawImap(account)
        racing = make_message(f"racing {round_no}", f"in flight {round_no}\n" * 200)
        in_flight.add(racing)
        racer.send(b"r APPEND INBOX {%d+}\r\n%s\r\n" % (len(racing), racing))

        message = make_message(f"round {round_no}", f"round {round_no}\n" * 100)
        session = account.connect()
        uid = session.append("INBOX", message)
        proc.kill()
        session.close()
        racer.close()
        assert uid not in acknowledged, f"UID {uid} reused in round {round_no}"
        acknowledged[uid] = message

    _restart(proc)
    validity, messages = _inbox(account)
    assert validity == uidvalidity
    missing = sorted(set(acknowledged) - set(messages))
    assert not missing, f"acknowledged UIDs lost after kill -9: {missing}"
    changed = sorted(u for u in acknowledged if messages[u].body != acknowledged[u])
    assert not changed, f"acknowledged messages changed after kill -9: {changed}"
    others = [m for u, m in messages.items() if u not in acknowledged]
    torn = [m.uid for m in others if m.body not in in_flight]
    assert not torn, f"partial or unknown messages after kill -9 at UIDs {torn}"
    assert len({m.body for m in others}) == len(others), "an in-flight APPEND stored twice"
