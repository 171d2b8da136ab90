"""An unexpected exception in a command: logged with its traceback, answered with
``* BYE [SERVERBUG]`` (no exception text on the wire), and the server keeps serving."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator

import pytest
from tests.conftest import RunningServer, make_settings, running_server
from tests.integration.conftest import connect_tls, login

from mailfort.store.api import Mailboxes, MailStore, Messages, Notifier, Users
from mailfort.store.types import MailboxId, MailboxStatus


class _BrokenStatus:
    """``Mailboxes`` whose ``status`` fails like a bug would; the rest is the real one."""

    def __init__(self, inner: Mailboxes) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    async def status(self, mailbox_id: MailboxId) -> MailboxStatus:
        raise RuntimeError("secret internal detail /var/lib/db")


class _FaultyStore:
    def __init__(self, inner: MailStore) -> None:
        self._inner = inner
        self._mailboxes = _BrokenStatus(inner.mailboxes)

    @property
    def users(self) -> Users:
        return self._inner.users

    @property
    def mailboxes(self) -> Mailboxes:
        return self._mailboxes  # type: ignore[return-value]

    @property
    def messages(self) -> Messages:
        return self._inner.messages

    @property
    def notifier(self) -> Notifier:
        return self._inner.notifier

    async def close(self) -> None:
        await self._inner.close()


@pytest.fixture(scope="module")
def faulty_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    settings = make_settings(tmp_path_factory.mktemp("faulty") / "data")
    with running_server(dataclasses.replace(settings), wrap_store=_FaultyStore) as srv:
        yield srv


def test_bug_is_bye_serverbug_and_server_survives(faulty_server: RunningServer,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    acct = faulty_server.add_user()
    w = login(faulty_server, acct)
    with caplog.at_level(logging.ERROR, logger="mailfort.server.imap"):
        w.send(b"a STATUS INBOX (MESSAGES)\r\n")
        line = w.readline()
        assert line == b"* BYE [SERVERBUG] Internal server error\r\n"
        with pytest.raises((EOFError, OSError)):
            w.readline()
    assert any(r.exc_info for r in caplog.records), "no traceback logged"
    w.close()
    other = connect_tls(faulty_server)
    assert other.command(b"n", b"NOOP") == [b"n OK NOOP completed\r\n"]
    other.close()
