"""``Messages.search`` (the SQL + trigram SEARCH index) against the reference evaluator
``mail.search.matches``: over random small mailboxes and random queries, the store's answer
always contains every match, and is exactly the matches when it says it is exact."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailfort.mail.message import ParsedMessage, Part
from mailfort.mail.search import (
    All,
    And,
    Body,
    DateCompare,
    DateField,
    DateOp,
    HasFlag,
    Header,
    InSet,
    ModSeqAtLeast,
    Not,
    Or,
    SearchKey,
    SizeCompare,
    SizeOp,
    Text,
    matches,
)
from mailfort.mail.uidset import SeqRange, SequenceSet
from mailfort.store.sqlite import SqliteMailStore, open_sqlite_store
from mailfort.store.sqlite.store import DB_FILENAME
from mailfort.store.types import FlagMode, MailboxId

# Characters whose case folding is tricky (ß -> ss, Kelvin sign -> k, dotted İ) mixed with
# plain letters, so needles and texts collide often.
ALPHABET = "abAB sSßkK\u212aİi:\u00e9\u00c9"
FLAGS = ("\\Seen", "\\Deleted", "\\Flagged", "Work", "urgent")
DAY0 = dt.date(2024, 3, 1)
ZONES = (dt.timezone(dt.timedelta(hours=-11)), dt.UTC, dt.timezone(dt.timedelta(hours=13)))


@dataclass(frozen=True)
class Msg:
    subject: str
    sender: str
    body: str
    size: int
    internal: dt.datetime
    sent: dt.date | None
    flags: frozenset[str]


@dataclass
class Target:
    """One stored message as ``mail.search.SearchTarget``."""

    seq: int
    uid: int
    modseq: int
    msg: Msg
    flags: frozenset[str]

    @property
    def size(self) -> int:
        return self.msg.size

    @property
    def internal_date(self) -> dt.datetime:
        return self.msg.internal

    @property
    def sent_date(self) -> dt.date | None:
        return self.msg.sent

    @property
    def is_recent(self) -> bool:
        return False

    def has_flag(self, flag: str) -> bool:
        return any(f.lower() == flag.lower() for f in self.flags)

    def _index(self) -> tuple[tuple[str, str], ...]:
        return (("subject", self.msg.subject), ("from", self.msg.sender))

    def header_values(self, name: str) -> list[str]:
        return [v for n, v in self._index() if n == name]

    def header_text(self) -> str:
        return "\r\n".join(f"{n}: {v}" for n, v in self._index())

    def body_text(self) -> str:
        return self.msg.body


_BOX_NUMBERS = itertools.count()
texts = st.text(ALPHABET, max_size=12)
msgs = st.builds(
    Msg, subject=texts, sender=texts, body=st.text(ALPHABET, max_size=30),
    size=st.integers(1, 50),
    internal=st.builds(lambda d, h, z: dt.datetime.combine(
        DAY0 + dt.timedelta(days=d), dt.time(h), z), st.integers(0, 4), st.integers(0, 23),
        st.sampled_from(ZONES)),
    sent=st.none() | st.builds(lambda d: DAY0 + dt.timedelta(days=d), st.integers(0, 4)),
    flags=st.frozensets(st.sampled_from(FLAGS), max_size=3))


def keys(needles: st.SearchStrategy[str]) -> st.SearchStrategy[SearchKey]:
    day = st.builds(lambda d: DAY0 + dt.timedelta(days=d), st.integers(-1, 5))
    uid_set = st.lists(st.tuples(st.integers(1, 8) | st.none(), st.integers(1, 8) | st.none()),
                       max_size=3).map(lambda rs: SequenceSet(tuple(SeqRange(a, b)
                                                                    for a, b in rs)))
    leaves: st.SearchStrategy[SearchKey] = st.one_of(
        st.just(All()),
        st.builds(HasFlag, st.sampled_from((*FLAGS, "\\seen", "WORK", "other")), st.booleans()),
        st.builds(Header, st.sampled_from(("subject", "from", "cc")), needles),
        st.builds(Body, needles),
        st.builds(Text, needles),
        st.builds(DateCompare, st.sampled_from(DateField), st.sampled_from(DateOp), day),
        st.builds(SizeCompare, st.sampled_from(SizeOp), st.integers(0, 51)),
        st.builds(InSet, uid_set, st.just(True)),
        st.builds(ModSeqAtLeast, st.integers(0, 12)),
    )
    return st.recursive(leaves, lambda inner: st.one_of(
        st.builds(Not, inner), st.builds(Or, inner, inner),
        st.builds(And, st.lists(inner, min_size=0, max_size=3).map(tuple))), max_leaves=6)


def parsed(index: int, m: Msg) -> tuple[bytes, ParsedMessage]:
    raw = f"X-N: {index}\r\nSubject: {m!r}\r\n\r\n".encode()
    return raw, ParsedMessage(m.size, b"(NIL)", b"(B)", b"(BS)",
                              Part(0, len(raw), len(raw), "text/plain", None, "7bit"), m.sent,
                              (("subject", m.subject), ("from", m.sender)), m.body)


@pytest.fixture
def loop_and_store(runner: asyncio.Runner, tmp_path: Path
                   ) -> Iterator[tuple[asyncio.Runner, SqliteMailStore]]:
    store = runner.run(open_sqlite_store(tmp_path / "data"))
    try:
        yield runner, store
    finally:
        runner.run(store.close())


async def _fill(store: SqliteMailStore, name: str, messages: list[Msg]) -> tuple[
        MailboxId, list[Target]]:
    user = await store.users.get("u") or await store.users.create("u", "$argon2id$fake")
    box = await store.mailboxes.create(user.id, name)
    targets: list[Target] = []
    for i, m in enumerate(messages):
        raw, p = parsed(i, m)
        res = await store.messages.append(box.id, raw, p, m.flags, m.internal)
        targets.append(Target(0, res.uid, res.modseq, m, frozenset(m.flags)))
    if targets:  # a flag change, so modseqs differ from the append order
        [upd], _ = await store.messages.store_flags(box.id, [targets[0].uid], FlagMode.ADD,
                                                    frozenset({"Later"}))
        targets[0].modseq, targets[0].flags = upd.modseq, upd.flags
    if len(targets) > 2:  # a gap in the uids
        await store.messages.store_flags(box.id, [targets[1].uid], FlagMode.ADD,
                                         frozenset({"\\Deleted"}))
        await store.messages.expunge(box.id, [targets[1].uid])
        del targets[1]
    for seq, t in enumerate(targets, 1):
        t.seq = seq
    return box.id, targets


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(messages=st.lists(msgs, max_size=7), data=st.data())
def test_store_search_agrees_with_the_reference_evaluator(
        loop_and_store: tuple[asyncio.Runner, SqliteMailStore], messages: list[Msg],
        data: st.DataObject) -> None:
    runner, store = loop_and_store
    name = f"Box{next(_BOX_NUMBERS)}"
    box_id, targets = runner.run(_fill(store, name, messages))
    pieces = [t[i:i + n] for m in messages for t in (m.subject, m.body, m.sender)
              for n in (1, 3, 4) for i in range(len(t))]
    needles = (st.sampled_from(pieces) if pieces else texts) | texts
    largest_uid = targets[-1].uid if targets else 0
    for key in data.draw(st.lists(keys(needles), min_size=1, max_size=8)):
        truth = [t.uid for t in targets
                 if matches(key, t, largest_seq=len(targets), largest_uid=largest_uid)]
        hits = runner.run(store.messages.search(box_id, key))
        assert hits.uids == sorted(hits.uids)
        assert set(truth) <= set(hits.uids), key
        if hits.is_exact:
            assert hits.uids == truth, key


async def test_exact_and_candidate_answers(tmp_path: Path) -> None:
    store = await open_sqlite_store(tmp_path / "data")
    try:
        box_id, targets = await _fill(store, "B", [
            Msg("Straße report", "ann", "Weekly STRASSE numbers", 10,
                dt.datetime(2024, 3, 2, 23, tzinfo=ZONES[0]), None, frozenset({"Work"})),
            Msg("lunch", "bob", "nothing here, Grüße", 40,
                dt.datetime(2024, 3, 3, 1, tzinfo=ZONES[2]), dt.date(2024, 1, 1), frozenset()),
        ])
        first, second = (t.uid for t in targets)
        found = await store.messages.search(box_id, Text("strasse"))
        assert found.uids == [first] and not found.is_exact  # folded: ß matches ss
        found = await store.messages.search(box_id, Body("GRÜSSE"))
        assert found.uids == [second]
        found = await store.messages.search(box_id, Header("subject", "ASSE"))
        assert found.uids == [first]
        found = await store.messages.search(box_id, Body("ab"))  # too short for trigrams
        assert found.uids == [first, second] and not found.is_exact
        since = await store.messages.search(box_id, DateCompare(DateField.INTERNAL, DateOp.SINCE,
                                                                dt.date(2024, 3, 3)))
        assert since.uids == [second] and since.is_exact  # the date in its own zone
        sent = await store.messages.search(box_id, DateCompare(DateField.SENT, DateOp.BEFORE,
                                                               dt.date(2024, 2, 1)))
        assert sent.uids == [second] and sent.is_exact
        kw = await store.messages.search(box_id, And((HasFlag("work"), SizeCompare(
            SizeOp.SMALLER, 11))))
        assert kw.uids == [first] and kw.is_exact
    finally:
        await store.close()


def test_migration_indexes_existing_messages(runner: asyncio.Runner, tmp_path: Path) -> None:
    """A store from before 0004 (its tables dropped): reopening creates and fills the index."""
    data = tmp_path / "data"

    async def fill() -> MailboxId:
        store = await open_sqlite_store(data)
        try:
            box_id, _ = await _fill(store, "B", [Msg(
                "Quokka firmament", "z", "body", 5, dt.datetime(2024, 3, 1, tzinfo=dt.UTC),
                None, frozenset())])
            return box_id
        finally:
            await store.close()

    box_id = runner.run(fill())
    conn = sqlite3.connect(data / DB_FILENAME)
    conn.executescript("DROP TABLE search_text; DROP TABLE search_docs; DROP TABLE inline_blobs;")
    conn.close()

    async def search() -> list[int]:
        store = await open_sqlite_store(data)
        try:
            return (await store.messages.search(box_id, Text("KKA FIR"))).uids
        finally:
            await store.close()

    assert runner.run(search()) == [1]
