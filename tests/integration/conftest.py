"""Wire-level helpers on top of the session-wide ``server`` fixture."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from tests.conftest import Account, RunningServer
from tests.integration.imapwire import WireClient


def quote(text: str) -> bytes:
    return b'"' + text.encode().replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def connect_tls(server: RunningServer) -> WireClient:
    wire = WireClient("127.0.0.1", server.imaps_port, tls=server.client_context())
    greeting = wire.readline()
    assert greeting.startswith(b"* OK ")
    return wire


def login(server: RunningServer, account: Account) -> WireClient:
    wire = connect_tls(server)
    resp = wire.command(b"L", b"LOGIN " + quote(account.username) + b" "
                        + quote(account.password))
    assert resp[-1].startswith(b"L OK"), resp
    return wire


@pytest.fixture()
def wire_factory(server: RunningServer, account: Account
                 ) -> Iterator[Callable[[], WireClient]]:
    """Open any number of logged-in TLS connections for ``account``; all closed after."""
    opened: list[WireClient] = []

    def make() -> WireClient:
        w = login(server, account)
        opened.append(w)
        return w

    yield make
    for w in opened:
        w.close()


@pytest.fixture()
def wire(wire_factory: Callable[[], WireClient]) -> WireClient:
    return wire_factory()
