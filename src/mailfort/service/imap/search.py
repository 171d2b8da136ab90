"""SEARCH and UID SEARCH, with ESEARCH (RFC 4731) and SEARCHRES (RFC 5182).

The store answers from an index built at delivery (``Messages.search``): flags, sizes, dates,
UID sets and MODSEQ in SQL, strings through a trigram index. Session state is resolved to UID
sets first (``resolve_session_keys``). When the store's answer is only a candidate set (string
keys), each candidate is confirmed in batches (``fetch_meta``, plus ``search_data`` when the
query looks at headers or text) with ``mail.search.matches``, which stays the exact evaluator.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Final

from mailfort.acl.policy import Operation
from mailfort.imap.codes import ResponseCode
from mailfort.imap.commands import Search, SearchReturn
from mailfort.mail.flags import RECENT, SEEN, canonical_flag
from mailfort.mail.search import (
    And,
    Body,
    DateCompare,
    DateField,
    HasFlag,
    Header,
    InSet,
    New,
    Not,
    Old,
    Or,
    Recent,
    SearchKey,
    Text,
    matches,
)
from mailfort.mail.uidset import SeqRange, SequenceSet
from mailfort.service.imap.errors import Completion, no, ok
from mailfort.store.types import MessageMeta, SearchData

if TYPE_CHECKING:
    from mailfort.service.imap.select import SelectedMailbox
    from mailfort.service.imap.session import Session

__all__ = ["handle_search", "needs_text", "resolve_session_keys"]

_BATCH: Final = 500
_CHARSETS: Final = ("UTF-8", "US-ASCII")


def needs_text(key: SearchKey) -> bool:
    """Does evaluating ``key`` need header or body text (``search_data``)?"""
    if isinstance(key, (Header, Body, Text)):
        return True
    if isinstance(key, DateCompare):
        return key.field is DateField.SENT
    if isinstance(key, Not):
        return needs_text(key.key)
    if isinstance(key, Or):
        return needs_text(key.left) or needs_text(key.right)
    if isinstance(key, And):
        return any(needs_text(k) for k in key.keys)
    return False


class _Target:
    """One message as ``mail.search.SearchTarget``."""

    __slots__ = ("_seq", "_meta", "_data", "_recent")

    def __init__(self, seq: int, meta: MessageMeta, data: SearchData | None,
                 is_recent: bool) -> None:
        self._seq = seq
        self._meta = meta
        self._data = data
        self._recent = is_recent

    @property
    def seq(self) -> int:
        return self._seq

    @property
    def uid(self) -> int:
        return self._meta.uid

    @property
    def modseq(self) -> int:
        return self._meta.modseq

    @property
    def size(self) -> int:
        return self._meta.size

    @property
    def internal_date(self) -> dt.datetime:
        return self._meta.internal_date

    @property
    def sent_date(self) -> dt.date | None:
        return None if self._data is None else self._data.sent_date

    @property
    def is_recent(self) -> bool:
        return self._recent

    def has_flag(self, flag: str) -> bool:
        low = flag.lower()
        return any(f.lower() == low for f in self._meta.flags)

    def header_values(self, name: str) -> list[str]:
        if self._data is None:
            return []
        return [v for n, v in self._data.header_index if n == name]

    def header_text(self) -> str:
        if self._data is None:
            return ""
        return "\r\n".join(f"{n}: {v}" for n, v in self._data.header_index)

    def body_text(self) -> str:
        return "" if self._data is None else self._data.body_text


def _uid_set(uids: list[int]) -> InSet:
    return InSet(SequenceSet.from_sorted_ints(uids), is_uid=True)


def resolve_session_keys(key: SearchKey, view: SelectedMailbox,
                         saved: SequenceSet) -> SearchKey:
    """``key`` with what only the session knows (\\Recent, sequence numbers, ``$``, ``*``)
    replaced by explicit UID sets, so the store can evaluate the rest in SQL."""
    if isinstance(key, Recent) or (isinstance(key, HasFlag)
                                   and canonical_flag(key.flag) == RECENT):
        recent = _uid_set(sorted(view.recent))
        return recent if not isinstance(key, HasFlag) or key.is_set else Not(recent)
    if isinstance(key, New):
        return And((_uid_set(sorted(view.recent)), HasFlag(SEEN, is_set=False)))
    if isinstance(key, Old):
        return Not(_uid_set(sorted(view.recent)))
    if isinstance(key, InSet):
        if key.set.is_saved:
            return InSet(saved, is_uid=True)
        if not key.is_uid:
            return _uid_set(view.uids_for_seqs(key.set))
        largest_uid = view.uids[-1] if view.uids else 0
        return InSet(SequenceSet(tuple(SeqRange(*r.bounds(largest_uid))
                                       for r in key.set.ranges)), is_uid=True)
    if isinstance(key, Not):
        return Not(resolve_session_keys(key.key, view, saved))
    if isinstance(key, Or):
        return Or(resolve_session_keys(key.left, view, saved),
                  resolve_session_keys(key.right, view, saved))
    if isinstance(key, And):
        return And(tuple(resolve_session_keys(k, view, saved) for k in key.keys))
    return key


async def _run(session: Session, view: SelectedMailbox, key: SearchKey) -> list[int]:
    """Matching UIDs, ascending. The store picks candidates from its index (exact for keys
    it can decide in SQL); inexact candidates are confirmed with ``mail.search.matches``."""
    saved = (SequenceSet.from_sorted_ints(sorted(session.saved_uids))
             if session.saved_uids else SequenceSet(()))
    store = session.store.messages
    hits = await store.search(view.mailbox_id, resolve_session_keys(key, view, saved))
    candidates = [u for u in hits.uids if u not in view.gone and view.seq_of(u) is not None]
    if hits.is_exact:
        return candidates
    largest_seq = view.exists
    largest_uid = view.uids[-1] if view.uids else 0
    with_text = needs_text(key)
    found: list[int] = []
    for start in range(0, len(candidates), _BATCH):
        batch = candidates[start:start + _BATCH]
        metas = await store.fetch_meta(view.mailbox_id, batch)
        texts: dict[int, SearchData] = {}
        if with_text:
            texts = {d.uid: d for d in await store.search_data(view.mailbox_id, batch)}
        for meta in metas:
            seq = view.seq_of(meta.uid)
            if seq is None:
                continue
            target = _Target(seq, meta, texts.get(meta.uid), view.is_recent(meta.uid))
            if matches(key, target, largest_seq=largest_seq, largest_uid=largest_uid,
                       saved=saved):
                found.append(meta.uid)
    return found


def _esearch(tag: str, numbers: list[int], ret: SearchReturn, is_uid: bool) -> bytes:
    out = b'* ESEARCH (TAG "' + tag.encode("ascii") + b'")'
    if is_uid:
        out += b" UID"
    if numbers and ret.min:
        out += b" MIN %d" % numbers[0]
    if numbers and ret.max:
        out += b" MAX %d" % numbers[-1]
    if ret.count:
        out += b" COUNT %d" % len(numbers)
    if numbers and ret.all:
        out += b" ALL " + SequenceSet.from_sorted_ints(numbers).to_wire().encode("ascii")
    return out + b"\r\n"


async def handle_search(session: Session, cmd: Search) -> Completion:
    view = session.require_selected()
    # A revoked "r" takes effect now, not at the next SELECT (O(1) unless an ACL changed).
    refused = await session.require_access().check_selected_now(Operation.SEARCH)
    if refused is not None:
        return refused
    if cmd.charset is not None and cmd.charset.upper() not in _CHARSETS:
        return no("Unsupported charset", ResponseCode.BADCHARSET, b"(UTF-8 US-ASCII)")
    uids = await _run(session, view, cmd.key)
    ret = cmd.returns
    if ret is not None and not (ret.min or ret.max or ret.all or ret.count or ret.save):
        ret = SearchReturn(all=True)
    if ret is None and session.is_rev2:
        ret = SearchReturn(all=True)
    if ret is not None and ret.save:
        if (ret.min or ret.max) and not (ret.all or ret.count):
            picked = {uids[0], uids[-1]} if uids else set()
            keep = [u for u in uids if u in picked and
                    ((ret.min and u == uids[0]) or (ret.max and u == uids[-1]))]
            session.saved_uids = keep
        else:
            session.saved_uids = list(uids)
    numbers = uids if cmd.is_uid else [s for s in (view.seq_of(u) for u in uids)
                                        if s is not None]
    if ret is None:
        session.write(b"* SEARCH" + b"".join(b" %d" % n for n in numbers) + b"\r\n")
    elif ret.min or ret.max or ret.all or ret.count:
        session.write(_esearch(cmd.tag, numbers, ret, cmd.is_uid))
    return ok("SEARCH completed")
