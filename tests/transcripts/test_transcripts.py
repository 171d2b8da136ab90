"""Replay the wire scripts in this folder against the live test server.

Format, one line each: ``C: <bytes>`` is sent with CRLF appended; ``S: <line>`` must be the
next response line exactly; ``S* <prefix>`` must be a prefix of it; ``#`` starts a comment.
``{user}`` and ``{password}`` stand for a fresh account's credentials (quoted when used). The
script starts after the greeting, on the implicit-TLS port.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import Account, RunningServer
from tests.integration.conftest import connect_tls, quote

SCRIPTS = sorted(Path(__file__).parent.glob("*.txt"))


def _fill(text: str, account: Account) -> bytes:
    return (text.replace("{user}", quote(account.username).decode())
            .replace("{password}", quote(account.password).decode()).encode())


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_transcript(script: Path, server: RunningServer, account: Account) -> None:
    wire = connect_tls(server)
    try:
        for number, line in enumerate(script.read_text().splitlines(), 1):
            if not line or line.startswith("#"):
                continue
            kind, body = line[:2], line[3:]
            where = f"{script.name}:{number}"
            if kind == "C:":
                wire.send(_fill(body, account) + b"\r\n")
            elif kind == "S:":
                got = wire.readline()
                assert got == _fill(body, account) + b"\r\n", (where, got)
            elif kind == "S*":
                got = wire.readline()
                assert got.startswith(_fill(body, account)), (where, got)
            else:
                raise AssertionError(f"{where}: unknown line kind {kind!r}")
    finally:
        wire.close()
