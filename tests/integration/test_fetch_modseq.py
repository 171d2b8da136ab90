"""FETCH MODSEQ (RFC 7162 §3.1.4.1) answered from the session's view must equal what the store
holds, after this session's STOREs and after another session's (issue #7)."""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.conftest import Account, RunningServer
from tests.integration.imapwire import WireClient

MSG = b"Subject: m\r\n\r\nbody\r\n"
_FROM_VIEW = re.compile(rb"\* (\d+) FETCH \(UID (\d+) MODSEQ \((\d+)\)\)\r\n")
_FROM_STORE = re.compile(rb"\* (\d+) FETCH \(UID (\d+) MODSEQ \((\d+)\) RFC822\.SIZE \d+\)\r\n")


def _select(w: WireClient) -> None:
    assert w.command(b"s", b"SELECT INBOX")[-1].startswith(b"s OK")


def _modseqs(w: WireClient, items: bytes, pattern: re.Pattern[bytes]) -> dict[int, int]:
    resp = w.command(b"m", b"UID FETCH 1:* (" + items + b")")
    assert resp[-1].startswith(b"m OK"), resp
    out: dict[int, int] = {}
    for line in resp[:-1]:
        m = pattern.fullmatch(line)
        if m is not None:  # other untagged updates may come first
            out[int(m.group(2))] = int(m.group(3))
    return out


def _agree(w: WireClient) -> dict[int, int]:
    """The view's answer (MODSEQ alone) against the store's (MODSEQ with a stored item)."""
    from_view = _modseqs(w, b"MODSEQ", _FROM_VIEW)
    from_store = _modseqs(w, b"MODSEQ RFC822.SIZE", _FROM_STORE)
    assert from_view == from_store and from_view
    return from_view


def test_fetch_modseq_from_the_view_follows_stores(server: RunningServer, account: Account,
                                                   wire_factory: Callable[[], WireClient]
                                                   ) -> None:
    for _ in range(3):
        server.deliver(account, MSG)
    a, b = wire_factory(), wire_factory()
    _select(a)
    _select(b)
    before = _agree(a)
    assert len(before) == 3
    # this session's own STORE
    assert a.command(b"t", b"UID STORE 2 +FLAGS.SILENT (\\Seen)")[-1].startswith(b"t OK")
    mine = _agree(a)
    assert mine[2] > before[2] and mine[1] == before[1] and mine[3] == before[3]
    # another session's STORE, learned from the change log
    assert b.command(b"u", b"UID STORE 3 +FLAGS.SILENT (\\Flagged)")[-1].startswith(b"u OK")
    theirs = _agree(a)
    assert theirs[3] > mine[2] and theirs[2] == mine[2]
    # plain FETCH MODSEQ (sequence numbers, no UID asked) has the same values
    resp = a.command(b"p", b"FETCH 1:3 (MODSEQ)")
    assert resp[:-1] == [b"* %d FETCH (MODSEQ (%d))\r\n" % (i, theirs[i]) for i in (1, 2, 3)]
    # FLAGS and MODSEQ together, in the store path's order
    resp = a.command(b"q", b"UID FETCH 3 (FLAGS MODSEQ)")
    assert resp[0] == (b"* 3 FETCH (UID 3 FLAGS (\\Flagged \\Recent) MODSEQ (%d))\r\n"
                       % theirs[3])  # a selected first: the messages are \Recent to it
