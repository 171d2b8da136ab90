"""Messages, flags, the change log and the notifier, against store.api only."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from mailfort.mail.message import ParsedMessage, Part
from mailfort.store.api import MailStore
from mailfort.store.errors import NoSuchMailbox
from mailfort.store.types import ChangeKind, FlagMode, MailboxId, MailboxInfo

HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"  # noqa: S105 (a fake)
WHEN = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone(dt.timedelta(hours=2)))
NOTIFY_WAIT_S = 2.0


def sample(subject: str = "hello") -> tuple[bytes, ParsedMessage]:
    raw = (f"From: a@example.com\r\nSubject: {subject}\r\n"
           f"Date: Sun, 05 May 2024 23:30:00 -0700\r\n\r\nbody of {subject}\r\n").encode()
    body_start = raw.index(b"\r\n\r\n") + 4
    return raw, ParsedMessage(
        size=len(raw),
        envelope=b'(NIL "' + subject.encode() + b'" NIL NIL NIL NIL NIL NIL NIL NIL)',
        body=b'("TEXT" "PLAIN" NIL NIL NIL "7BIT" 10 1)',
        bodystructure=b'("TEXT" "PLAIN" NIL NIL NIL "7BIT" 10 1 NIL NIL NIL NIL)',
        root=Part(0, body_start, len(raw), "text/plain", None, "7bit"),
        sent_date=dt.date(2024, 5, 5),
        header_index=(("from", "a@example.com"), ("subject", subject),
                      ("date", "Sun, 05 May 2024 23:30:00 -0700")),
        body_text=f"body of {subject}\r\n")


async def inbox_of(store: MailStore, name: str = "alice@example.com") -> MailboxInfo:
    user = await store.users.create(name, HASH)
    box = await store.mailboxes.get(user.id, "INBOX")
    assert box is not None
    return box


async def other_box(store: MailStore, box: MailboxInfo, name: str) -> MailboxInfo:
    return await store.mailboxes.create(box.user_id, name)


async def fill(store: MailStore, box: MailboxId, n: int,
               flags: frozenset[str] = frozenset()) -> list[int]:
    uids = []
    for i in range(n):
        raw, parsed = sample(f"m{i}")
        uids.append((await store.messages.append(box, raw, parsed, flags, WHEN)).uid)
    return uids


async def test_append_then_snapshot_and_fetch(store: MailStore) -> None:
    box = await inbox_of(store)
    raw, parsed = sample("first")
    res = await store.messages.append(box.id, raw, parsed,
                                      frozenset({"\\seen", "\\Recent", "$Label1"}), WHEN)
    assert res.uid == 1 and res.uidvalidity == box.uidvalidity and res.modseq > box.highest_modseq
    snap = await store.messages.snapshot(box.id)
    assert snap.uids == [1]
    assert snap.flags == [frozenset({"\\Seen", "$Label1"})]  # canonical, no \Recent
    assert snap.modseqs == [res.modseq]
    assert snap.mailbox.uidnext == 2 and snap.mailbox.highest_modseq == res.modseq
    [meta] = await store.messages.fetch_meta(box.id, [1])
    assert (meta.uid, meta.modseq, meta.size) == (1, res.modseq, len(raw))
    assert meta.internal_date == WHEN and meta.internal_date.utcoffset() == WHEN.utcoffset()
    assert (meta.envelope, meta.body, meta.bodystructure) == (
        parsed.envelope, parsed.body, parsed.bodystructure)
    assert Part.loads(meta.mime) == parsed.root
    assert await store.messages.read_blob(meta.blob_id) == raw
    [data] = await store.messages.search_data(box.id, [1])
    assert data.uid == 1 and data.sent_date == dt.date(2024, 5, 5)
    assert data.header_index == parsed.header_index and data.body_text == parsed.body_text


async def test_append_to_missing_mailbox(store: MailStore) -> None:
    box = await inbox_of(store)
    raw, parsed = sample()
    with pytest.raises(NoSuchMailbox):
        await store.messages.append(MailboxId(box.id + 10_000), raw, parsed, frozenset(), WHEN)


async def test_fetch_meta_returns_existing_uids_ascending(store: MailStore) -> None:
    box = await inbox_of(store)
    await fill(store, box.id, 12)
    metas = await store.messages.fetch_meta(box.id, [9, 3, 3, 40, 1])  # sparse
    assert [m.uid for m in metas] == [1, 3, 9]
    metas = await store.messages.fetch_meta(box.id, list(range(2, 13)) + [99])  # dense
    assert [m.uid for m in metas] == list(range(2, 13))
    assert [d.uid for d in await store.messages.search_data(box.id, [12, 5])] == [5, 12]
    assert await store.messages.fetch_meta(box.id, []) == []


async def test_uids_never_reused_after_expunging_the_last(store: MailStore) -> None:
    box = await inbox_of(store)
    await fill(store, box.id, 2, frozenset({"\\Deleted"}))
    assert await store.messages.expunge(box.id) == [1, 2]
    [uid] = await fill(store, box.id, 1)
    assert uid == 3
    assert (await store.messages.snapshot(box.id)).uids == [3]


async def test_concurrent_appends_get_distinct_ascending_uids(store: MailStore) -> None:
    box = await inbox_of(store)

    async def one(i: int) -> int:
        raw, parsed = sample(f"c{i}")
        return (await store.messages.append(box.id, raw, parsed, frozenset(), WHEN)).uid

    uids = await asyncio.gather(*(one(i) for i in range(40)))
    assert sorted(uids) == list(range(1, 41))
    snap = await store.messages.snapshot(box.id)
    assert snap.uids == list(range(1, 41))
    assert snap.modseqs == sorted(set(snap.modseqs))


async def test_flag_modes(store: MailStore) -> None:
    box = await inbox_of(store)
    await fill(store, box.id, 3, frozenset({"$Work"}))
    m = store.messages
    updates, refused = await m.store_flags(box.id, [1, 2], FlagMode.ADD,
                                           frozenset({"\\Seen", "\\Recent", "Todo"}))
    assert refused == [] and [u.uid for u in updates] == [1, 2]
    assert updates[0].flags == frozenset({"$Work", "\\Seen", "Todo"})
    assert updates[0].modseq < updates[1].modseq
    updates, _ = await m.store_flags(box.id, [1, 2, 3], FlagMode.REMOVE, frozenset({"todo"}))
    assert [(u.uid, u.flags) for u in updates] == [(1, frozenset({"$Work", "\\Seen"})),
                                                    (2, frozenset({"$Work", "\\Seen"}))]
    updates, _ = await m.store_flags(box.id, [3], FlagMode.REPLACE, frozenset({"\\Flagged"}))
    assert [(u.uid, u.flags) for u in updates] == [(3, frozenset({"\\Flagged"}))]
    snap = await m.snapshot(box.id)
    assert snap.flags == [frozenset({"$Work", "\\Seen"}), frozenset({"$Work", "\\Seen"}),
                          frozenset({"\\Flagged"})]


async def test_noop_store_keeps_modseq(store: MailStore) -> None:
    box = await inbox_of(store)
    await fill(store, box.id, 2, frozenset({"\\Seen", "Later"}))
    before = await store.messages.snapshot(box.id)
    m = store.messages
    assert (await m.store_flags(box.id, [1, 2], FlagMode.ADD, frozenset({"\\Seen"}))) == ([], [])
    assert (await m.store_flags(box.id, [1], FlagMode.ADD, frozenset({"LATER"}))) == ([], [])
    assert (await m.store_flags(box.id, [1], FlagMode.REMOVE, frozenset({"\\Draft"}))) == ([], [])
    assert (await m.store_flags(box.id, [2], FlagMode.REPLACE,
                                frozenset({"later", "\\Seen"}))) == ([], [])
    assert (await m.store_flags(box.id, [77], FlagMode.ADD, frozenset({"\\Seen"}))) == ([], [])
    after = await store.messages.snapshot(box.id)
    assert after.modseqs == before.modseqs and after.flags == before.flags
    assert after.mailbox.highest_modseq == before.mailbox.highest_modseq
    assert await m.changes_since(box.id, before.mailbox.highest_modseq) == []


async def test_modseq_bumps_and_changes_since(store: MailStore) -> None:
    box = await inbox_of(store)
    start = box.highest_modseq
    await fill(store, box.id, 3)
    m = store.messages
    [upd], _ = await m.store_flags(box.id, [2], FlagMode.ADD, frozenset({"\\Deleted"}))
    assert await m.expunge(box.id) == [2]
    changes = await m.changes_since(box.id, start)
    assert (changes[-1].kind, changes[-1].uid) == (ChangeKind.EXPUNGED, 2)
    assert [c.modseq for c in changes] == sorted({c.modseq for c in changes})
    assert all(c.modseq > start for c in changes)
    added = [c.uid for c in changes if c.kind is ChangeKind.ADDED]
    assert set(added) >= {1, 3}
    snap = await m.snapshot(box.id)
    assert snap.mailbox.highest_modseq == changes[-1].modseq
    assert snap.mailbox.highest_modseq > upd.modseq
    # Catching up from a recent point yields only what came after it.
    [upd3], _ = await m.store_flags(box.id, [3], FlagMode.ADD, frozenset({"\\Answered"}))
    tail = await m.changes_since(box.id, snap.mailbox.highest_modseq)
    assert [(c.kind, c.uid, c.flags, c.modseq) for c in tail] == [
        (ChangeKind.FLAGS, 3, frozenset({"\\Answered"}), upd3.modseq)]


async def test_unchangedsince(store: MailStore) -> None:
    box = await inbox_of(store)
    await fill(store, box.id, 3)
    m = store.messages
    snap = await m.snapshot(box.id)
    [bumped], _ = await m.store_flags(box.id, [2], FlagMode.ADD, frozenset({"\\Flagged"}))
    updates, refused = await m.store_flags(box.id, [1, 2, 3], FlagMode.ADD,
                                           frozenset({"\\Seen"}),
                                           unchanged_since=snap.mailbox.highest_modseq)
    assert refused == [2]
    assert [u.uid for u in updates] == [1, 3]
    after = await m.snapshot(box.id)
    assert after.flags[1] == frozenset({"\\Flagged"}) and after.modseqs[1] == bumped.modseq
    # UNCHANGEDSINCE equal to the message's modseq succeeds (RFC 7162 §3.1.3).
    updates, refused = await m.store_flags(box.id, [2], FlagMode.ADD, frozenset({"\\Seen"}),
                                           unchanged_since=bumped.modseq)
    assert refused == [] and [u.uid for u in updates] == [2]


async def test_expunge_subsets(store: MailStore) -> None:
    box = await inbox_of(store)
    await fill(store, box.id, 6)
    m = store.messages
    await m.store_flags(box.id, [2, 3, 5], FlagMode.ADD, frozenset({"\\Deleted"}))
    assert await m.expunge(box.id, [1, 3, 5, 99]) == [3, 5]  # 1 lacks \Deleted
    assert (await m.snapshot(box.id)).uids == [1, 2, 4, 6]
    assert await m.expunge(box.id, []) == []
    assert await m.expunge(box.id) == [2]
    assert (await m.snapshot(box.id)).uids == [1, 4, 6]
    assert await m.expunge(box.id) == []


async def test_copy_preserves_flags_and_maps_uids(store: MailStore) -> None:
    box = await inbox_of(store)
    dst = await other_box(store, box, "Archive/2024")
    await fill(store, box.id, 4)
    m = store.messages
    await m.store_flags(box.id, [3], FlagMode.ADD, frozenset({"\\Flagged", "Key"}))
    await fill(store, dst.id, 1)
    uidvalidity, mapping = await m.copy(box.id, [4, 3, 1, 77], dst.id)
    assert uidvalidity == dst.uidvalidity
    assert mapping == [(1, 2), (3, 3), (4, 4)]
    src_meta = {x.uid: x for x in await m.fetch_meta(box.id, [1, 3, 4])}
    dst_meta = {x.uid: x for x in await m.fetch_meta(dst.id, [2, 3, 4])}
    for old, new in mapping:
        assert dst_meta[new].flags == src_meta[old].flags
        assert dst_meta[new].internal_date == src_meta[old].internal_date
        assert dst_meta[new].blob_id == src_meta[old].blob_id
    assert (await m.snapshot(box.id)).uids == [1, 2, 3, 4]
    # Modseqs in dst grow with the copies.
    snap = await m.snapshot(dst.id)
    assert snap.modseqs == sorted(snap.modseqs)


async def test_move_expunges_source(store: MailStore) -> None:
    box = await inbox_of(store)
    dst = await other_box(store, box, "Done")
    await fill(store, box.id, 3)
    before = (await store.messages.snapshot(box.id)).mailbox.highest_modseq
    m = store.messages
    _, mapping = await m.move(box.id, [2, 3], dst.id)
    assert mapping == [(2, 1), (3, 2)]
    assert (await m.snapshot(box.id)).uids == [1]
    assert (await m.snapshot(dst.id)).uids == [1, 2]
    changes = await m.changes_since(box.id, before)
    assert [(c.kind, c.uid) for c in changes] == [(ChangeKind.EXPUNGED, 2),
                                                   (ChangeKind.EXPUNGED, 3)]
    blob = (await m.fetch_meta(dst.id, [1]))[0].blob_id
    assert await m.read_blob(blob) == sample("m1")[0]


async def test_move_of_nothing_and_missing_mailboxes(store: MailStore) -> None:
    box = await inbox_of(store)
    dst = await other_box(store, box, "Dst")
    assert (await store.messages.move(box.id, [5], dst.id))[1] == []
    with pytest.raises(NoSuchMailbox):
        await store.messages.copy(box.id, [1], MailboxId(dst.id + 10_000))


async def test_status_counts_and_recent(store: MailStore) -> None:
    box = await inbox_of(store)
    m = store.messages
    await fill(store, box.id, 2, frozenset({"\\Seen"}))
    await fill(store, box.id, 3)
    await m.store_flags(box.id, [5], FlagMode.ADD, frozenset({"\\Deleted"}))
    status = await store.mailboxes.status(box.id)
    total_size = sum(x.size for x in await m.fetch_meta(box.id, range(1, 6)))
    assert (status.messages, status.unseen, status.deleted, status.recent) == (5, 3, 1, 5)
    assert status.uidnext == 6 and status.uidvalidity == box.uidvalidity
    assert status.size == total_size
    assert status.highest_modseq == (await m.snapshot(box.id)).mailbox.highest_modseq
    assert await m.claim_recent(box.id) == 1
    assert await m.claim_recent(box.id) == 6  # the second session sees none as recent
    assert (await store.mailboxes.status(box.id)).recent == 0
    await fill(store, box.id, 1)
    assert (await store.mailboxes.status(box.id)).recent == 1
    assert await m.claim_recent(box.id) == 6


async def test_claim_recent_up_to_what_the_session_knows(store: MailStore) -> None:
    """A selected session that learns of new messages claims those it knows of, and only
    those: one claimant each, in the order the claims were made, and SELECT (no bound)
    takes the rest."""
    box = await inbox_of(store)
    m = store.messages
    await fill(store, box.id, 2)
    assert await m.claim_recent(box.id) == 1  # SELECT: 1 and 2 are recent for it
    await fill(store, box.id, 3)  # 3, 4, 5
    assert await m.claim_recent(box.id, 4) == 3  # knows of 3 and 4: takes them
    assert await m.claim_recent(box.id, 4) == 5  # a second session knowing 3, 4: none
    assert await m.claim_recent(box.id, 2) == 5  # one that knows less: none either
    assert await m.claim_recent(box.id, 5) == 5  # 5 was still unclaimed
    await fill(store, box.id, 1)  # 6
    assert await m.claim_recent(box.id) == 6  # SELECT sees the claims made before it
    assert await m.claim_recent(box.id) == 7
    assert (await store.mailboxes.status(box.id)).recent == 0


async def test_concurrent_claims_have_one_winner(store: MailStore) -> None:
    box = await inbox_of(store)
    m = store.messages
    await fill(store, box.id, 1)
    assert await m.claim_recent(box.id) == 1
    await fill(store, box.id, 2)  # 2, 3
    firsts = await asyncio.gather(*(m.claim_recent(box.id, 3) for _ in range(20)),
                                  m.claim_recent(box.id))
    assert sorted(firsts) == [2] + [4] * 20  # exactly one session gets 2 and 3


async def test_notifier_fires_on_changes(store: MailStore) -> None:
    box = await inbox_of(store)
    other = await other_box(store, box, "Other")
    seen: list[MailboxId] = []
    fired = asyncio.Event()
    marker = asyncio.Event()

    def on_change(mailbox_id: MailboxId) -> None:
        seen.append(mailbox_id)
        fired.set()

    def on_other(mailbox_id: MailboxId) -> None:
        marker.set()

    async def expect_fire() -> None:
        await asyncio.wait_for(fired.wait(), NOTIFY_WAIT_S)
        fired.clear()

    async def expect_quiet() -> None:
        # Callbacks run in publish order: once a later change to `other` is delivered, any
        # notification for `box` would already have run.
        marker.clear()
        raw, parsed = sample("marker")
        await store.messages.append(other.id, raw, parsed, frozenset(), WHEN)
        await asyncio.wait_for(marker.wait(), NOTIFY_WAIT_S)
        assert not fired.is_set()

    store.notifier.subscribe(box.id, on_change)
    store.notifier.subscribe(other.id, on_other)
    raw, parsed = sample()
    await store.messages.append(box.id, raw, parsed, frozenset(), WHEN)
    await expect_fire()
    await store.messages.store_flags(box.id, [1], FlagMode.ADD, frozenset({"\\Deleted"}))
    await expect_fire()
    await store.messages.store_flags(box.id, [1], FlagMode.ADD, frozenset({"\\Deleted"}))
    await expect_quiet()  # a no-op STORE changes nothing
    await store.messages.expunge(box.id)
    await expect_fire()
    await store.messages.copy(other.id, [1], box.id)
    await expect_fire()
    assert seen == [box.id] * 4
    store.notifier.unsubscribe(box.id, on_change)
    await store.messages.append(box.id, raw, parsed, frozenset(), WHEN)
    await expect_quiet()


async def test_copy_and_move_within_one_mailbox(store: MailStore) -> None:
    box = await inbox_of(store)
    await fill(store, box.id, 2)
    m = store.messages
    _, mapping = await m.copy(box.id, [1, 2], box.id)
    assert mapping == [(1, 3), (2, 4)]
    _, mapping = await m.move(box.id, [1], box.id)
    assert mapping == [(1, 5)]
    snap = await m.snapshot(box.id)
    assert snap.uids == [2, 3, 4, 5]
    assert snap.modseqs == sorted(set(snap.modseqs))
    assert snap.mailbox.highest_modseq == max(snap.modseqs) + 1  # + the EXPUNGED of uid 1


async def test_rename_keeps_messages_and_uids(store: MailStore) -> None:
    box = await inbox_of(store)
    folder = await other_box(store, box, "Old")
    await fill(store, folder.id, 3)
    await store.mailboxes.rename(box.user_id, "Old", "New")
    renamed = await store.mailboxes.get(box.user_id, "New")
    assert renamed is not None and renamed.id == folder.id
    assert (await store.messages.snapshot(renamed.id)).uids == [1, 2, 3]
    assert renamed.uidnext == 4
