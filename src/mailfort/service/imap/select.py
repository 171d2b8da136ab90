"""SELECT, EXAMINE, CLOSE, UNSELECT, CHECK, and the selected-mailbox view.

``SelectedMailbox`` is the session's picture of the mailbox: the sequence-number ↔ UID map as
the client last heard it, the flags it was told, and what changed since (learned from the
store's change log when the notifier says so). Untagged EXISTS / EXPUNGE / FETCH updates are
produced only when the session asks (``updates``), at the moments RFC 9051 §7.5.1 allows.
Messages expunged by another session stay in the view (so sequence numbers do not shift under
the client) until an EXPUNGE response may be sent.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from mailfort.acl.policy import Operation, is_read_write, permanent_flags
from mailfort.acl.rights import Right
from mailfort.imap import encoder
from mailfort.imap.codes import ResponseCode
from mailfort.imap.commands import Check, Close, Select, Unselect
from mailfort.mail.flags import DELETED, PERMANENT_FLAGS, RECENT, SEEN, SYSTEM_FLAGS
from mailfort.mail.uidset import SequenceSet
from mailfort.service.imap.access import NONEXISTENT
from mailfort.service.imap.errors import Completion, no, ok
from mailfort.store.api import MailStore
from mailfort.store.types import ChangeKind, MailboxId, MailboxInfo, Snapshot

if TYPE_CHECKING:
    from mailfort.service.imap.session import Session

__all__ = ["SelectedMailbox", "handle_select", "handle_close", "handle_unselect",
           "handle_check", "flags_bytes"]


def flags_bytes(flags: Iterable[str], is_recent: bool = False) -> bytes:
    items = sorted(flags)
    if is_recent:
        items.append(RECENT)
    return encoder.flag_list(items)


class SelectedMailbox:
    """The session's view of its selected mailbox."""

    def __init__(self, store: MailStore, snapshot: Snapshot, *, is_readonly: bool,
                 first_recent_uid: int | None) -> None:
        self._store = store
        self.info: MailboxInfo = snapshot.mailbox
        self.is_readonly = is_readonly
        self.uids: list[int] = list(snapshot.uids)
        self.flags: dict[int, frozenset[str]] = dict(zip(snapshot.uids, snapshot.flags,
                                                         strict=True))
        # Each message's MODSEQ as of the last change this view learned of (FETCH MODSEQ is
        # answered from here; STORE and the change log keep it current).
        self.modseqs: dict[int, int] = dict(zip(snapshot.uids, snapshot.modseqs, strict=True))
        self.recent: set[int] = set()
        if first_recent_uid is not None:
            self.recent = {u for u in self.uids if u >= first_recent_uid}
        self.last_modseq = snapshot.mailbox.highest_modseq
        self.gone: set[int] = set()  # expunged elsewhere, EXPUNGE not yet sent
        self.flags_changed: set[int] = set()  # FETCH FLAGS not yet sent
        self.announced_exists = len(self.uids)
        self.announced_recent = len(self.recent)
        self.keywords: set[str] = {f for fs in snapshot.flags for f in fs
                                   if not f.startswith("\\")}
        self.announced_keywords = set(self.keywords)
        self.is_dirty = False
        # Called (on the loop) when the notifier rings: the server's IDLE loop sets it to wake
        # its single waiter; one plain call, no Event or task per idler (10,000 wake at once).
        self.on_change: Callable[[], None] | None = None
        self._claims_recent = first_recent_uid is not None
        store.notifier.subscribe(self.info.id, self._on_change)

    @property
    def mailbox_id(self) -> MailboxId:
        return self.info.id

    def _on_change(self, mailbox_id: MailboxId) -> None:
        self.is_dirty = True
        listener = self.on_change
        if listener is not None:
            listener()

    def close(self) -> None:
        self._store.notifier.unsubscribe(self.info.id, self._on_change)

    # ---- sequence numbers ----------------------------------------------------------------
    @property
    def exists(self) -> int:
        return len(self.uids)

    def seq_of(self, uid: int) -> int | None:
        i = bisect.bisect_left(self.uids, uid)
        if i < len(self.uids) and self.uids[i] == uid:
            return i + 1
        return None

    def uids_for_seqs(self, seqs: SequenceSet) -> list[int]:
        """UIDs of the messages a sequence-number set names (``*`` = the last message).
        Numbers beyond the view are ignored (the caller decides whether that is BAD)."""
        n = len(self.uids)
        out: list[int] = []
        for lo, hi in seqs.intervals(n):
            out.extend(self.uids[lo - 1:min(hi, n)])
        return out

    @staticmethod
    def max_seq_named(seqs: SequenceSet) -> int:
        """The highest number in the set's ranges that do not use ``*`` (``n:*`` is valid
        whatever ``n`` is, RFC 9051 §9)."""
        return max((max(r.first, r.last) for r in seqs.ranges
                    if r.first is not None and r.last is not None), default=0)

    def uids_for_uidset(self, uids: SequenceSet) -> list[int]:
        """UIDs in the view that the UID set names; ``*`` is the highest UID in use."""
        if not self.uids:
            return []
        largest = self.uids[-1]
        out: list[int] = []
        for lo, hi in uids.intervals(largest):
            a = bisect.bisect_left(self.uids, lo)
            b = bisect.bisect_right(self.uids, hi)
            out.extend(self.uids[a:b])
        return out

    def is_recent(self, uid: int) -> bool:
        return uid in self.recent

    # ---- changes -------------------------------------------------------------------------
    async def refresh(self, *, force: bool = False) -> None:
        """Read the change log since the last look (only when the notifier rang)."""
        if not (self.is_dirty or force):
            return
        self.is_dirty = False
        changes = await self._store.messages.changes_since(self.info.id, self.last_modseq)
        added = False
        for change in changes:
            self.last_modseq = max(self.last_modseq, change.modseq)
            uid = change.uid
            if change.kind is ChangeKind.ADDED:
                if not self.uids or uid > self.uids[-1]:
                    self.uids.append(uid)
                    self.flags[uid] = change.flags
                    self.modseqs[uid] = change.modseq
                    self.keywords.update(f for f in change.flags if not f.startswith("\\"))
                    added = True
            elif change.kind is ChangeKind.FLAGS:
                if uid in self.flags and uid not in self.gone:
                    self.modseqs[uid] = max(self.modseqs.get(uid, 0), change.modseq)
                if uid in self.flags and uid not in self.gone and self.flags[uid] != change.flags:
                    self.flags[uid] = change.flags
                    self.flags_changed.add(uid)
                    self.keywords.update(f for f in change.flags if not f.startswith("\\"))
            elif change.kind is ChangeKind.EXPUNGED:
                if uid in self.flags:
                    self.gone.add(uid)
                    self.flags_changed.discard(uid)
        if added and self._claims_recent:
            first = await self._store.messages.claim_recent(self.info.id, self.uids[-1])
            self.recent.update(self.uids[bisect.bisect_left(self.uids, first):])

    def forget(self, uids: Iterable[int]) -> bytes:
        """Remove messages this session expunged itself; returns their EXPUNGE responses."""
        return self._expunge_bytes(set(uids))

    def _expunge_bytes(self, doomed: set[int]) -> bytes:
        out = bytearray()
        # Highest sequence number first, so that the numbers sent are those the client holds.
        for i in range(len(self.uids) - 1, -1, -1):
            uid = self.uids[i]
            if uid in doomed:
                out += b"* %d EXPUNGE\r\n" % (i + 1)
                del self.uids[i]
                self.flags.pop(uid, None)
                self.modseqs.pop(uid, None)
                self.recent.discard(uid)
                self.gone.discard(uid)
                self.flags_changed.discard(uid)
                self.announced_exists -= 1
        return bytes(out)

    def updates(self, *, allow_expunge: bool, is_rev1: bool) -> bytes:
        """Untagged responses for what changed, in the order RFC 9051 wants them."""
        out = bytearray()
        if allow_expunge and self.gone:
            out += self._expunge_bytes(set(self.gone))
        if self.keywords != self.announced_keywords:
            self.announced_keywords = set(self.keywords)
            out += b"* FLAGS " + self.flags_list() + b"\r\n"
        if len(self.uids) != self.announced_exists:
            self.announced_exists = len(self.uids)
            out += b"* %d EXISTS\r\n" % self.announced_exists
            if is_rev1:
                self.announced_recent = len(self.recent)
                out += b"* %d RECENT\r\n" % self.announced_recent
        if self.flags_changed:
            for uid in sorted(self.flags_changed):
                seq = self.seq_of(uid)
                if seq is not None and uid not in self.gone:
                    out += b"* %d FETCH (UID %d FLAGS %s)\r\n" % (
                        seq, uid, flags_bytes(self.flags[uid], uid in self.recent))
            self.flags_changed.clear()
        return bytes(out)

    def flags_list(self) -> bytes:
        return encoder.flag_list((*SYSTEM_FLAGS, *sorted(self.keywords)))

    def first_unseen_seq(self) -> int | None:
        for i, uid in enumerate(self.uids):
            if SEEN not in self.flags[uid]:
                return i + 1
        return None

    def deleted_uids(self) -> list[int]:
        return [u for u in self.uids if DELETED in self.flags.get(u, frozenset())]


# ---- handlers ------------------------------------------------------------------------------
async def handle_select(session: Session, cmd: Select) -> Completion:
    had_selection = session.selected is not None
    session.deselect()
    user = session.require_user()
    access = session.require_access()
    access.selected(None, None)
    generation = await access.generation()  # before the rights are read (access.py)
    place = await access.place(cmd.mailbox)
    refused = NONEXISTENT if place is None else access.check_place(
        Operation.EXAMINE if cmd.is_readonly else Operation.SELECT, place)
    info = place.info if place is not None else None
    if refused is not None or info is None or place is None:
        if had_selection:
            session.write(b"* OK [CLOSED] Previous mailbox closed\r\n")
        return refused or no("Mailbox does not exist", ResponseCode.NONEXISTENT)
    messages = session.store.messages
    # RFC 4314 §5.2: without any right that changes the mailbox, SELECT opens READ-ONLY.
    is_readonly = cmd.is_readonly or not is_read_write(place.rights)
    claims = session.is_rev1 and not is_readonly
    first_recent = await messages.claim_recent(info.id) if claims else None
    snapshot = await messages.snapshot(info.id)
    view = SelectedMailbox(session.store, snapshot, is_readonly=is_readonly,
                           first_recent_uid=first_recent)
    out = bytearray()
    if had_selection:
        out += b"* OK [CLOSED] Previous mailbox closed\r\n"
    out += b"* %d EXISTS\r\n" % view.exists
    if session.is_rev1:
        out += b"* %d RECENT\r\n" % len(view.recent)
    out += b"* FLAGS " + view.flags_list() + b"\r\n"
    if is_readonly:
        out += b"* OK [PERMANENTFLAGS ()] Read-only mailbox\r\n"
    else:
        out += (b"* OK [PERMANENTFLAGS "
                + encoder.flag_list(permanent_flags(place.rights, PERMANENT_FLAGS))
                + b"] Flags permitted\r\n")
    if session.is_rev1:
        unseen = view.first_unseen_seq()
        if unseen is not None:
            out += b"* OK [UNSEEN %d] First unseen\r\n" % unseen
    out += b"* OK [UIDVALIDITY %d] UIDs valid\r\n" % snapshot.mailbox.uidvalidity
    out += b"* OK [UIDNEXT %d] Predicted next UID\r\n" % snapshot.mailbox.uidnext
    if not session.is_rev1:
        # RFC 9051 §6.3.2: an IMAP4rev2 server MUST send a LIST response with the mailbox name
        # (its attributes accurate: the special-use one, which we know without listing).
        special = info.special_use.encode("ascii") if info.special_use else b""
        out += (b"* LIST (" + special + b') "/" ' + encoder.mailbox_name(place.name)
                + b"\r\n")
    session.write(bytes(out))
    session.set_selected(view)
    access.selected(place, generation)
    await session.audit.selected(user.name, info.id, place.name, is_readonly=is_readonly)
    if is_readonly:
        return ok("EXAMINE completed" if cmd.is_readonly else "SELECT completed",
                  ResponseCode.READ_ONLY)
    return ok("SELECT completed", ResponseCode.READ_WRITE)


async def handle_close(session: Session, cmd: Close) -> Completion:
    view = session.require_selected()
    access = session.require_access()
    if not view.is_readonly and access.may_selected(Right.EXPUNGE):  # RFC 4314 §4: else none
        removed = await session.store.messages.expunge(view.mailbox_id)
        session.audit.expunged(session.require_user().name, view.info.name, len(removed))
    session.deselect()
    return ok("CLOSE completed")


async def handle_unselect(session: Session, cmd: Unselect) -> Completion:
    session.require_selected()
    session.deselect()
    return ok("UNSELECT completed")


async def handle_check(session: Session, cmd: Check) -> Completion:
    view = session.require_selected()
    await view.refresh(force=True)
    return ok("CHECK completed")
