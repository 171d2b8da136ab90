"""FETCH and UID FETCH (RFC 9051 §6.4.5, RFC 3516 BINARY).

FLAGS/UID-only FETCHes (what a client's resync asks) are answered from the selected view with
no store call. Otherwise: one ``fetch_meta`` call per batch; ENVELOPE/BODY/BODYSTRUCTURE are stored
wire bytes; the blob is read only when a body section is asked for; the MIME tree comes from
the stored JSON (never a re-parse). Responses are written in chunks of ~64 KiB with a drain in
between, so a large FETCH neither piles up in memory nor starves other connections.
"""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING, Final

from mailfort.acl.policy import Operation
from mailfort.acl.rights import Right
from mailfort.imap import encoder
from mailfort.imap.codes import ResponseCode
from mailfort.imap.commands import (
    BinarySection,
    BinarySize,
    BodySection,
    Fetch,
    FetchAtt,
    FetchItem,
    Section,
    SectionText,
)
from mailfort.mail.flags import SEEN
from mailfort.mail.message import Part
from mailfort.mail.section import binary_bytes, section_bytes
from mailfort.service.imap.errors import Completion, no, ok
from mailfort.service.imap.select import flags_bytes
from mailfort.store.types import FlagMode, MessageMeta

if TYPE_CHECKING:
    from mailfort.service.imap.select import SelectedMailbox
    from mailfort.service.imap.session import Session

__all__ = ["handle_fetch", "section_spec"]

_CHUNK_BYTES: Final = 64 * 1024
_META_BATCH: Final = 500
_NEEDS_BLOB: Final = (FetchItem.RFC822, FetchItem.RFC822_HEADER, FetchItem.RFC822_TEXT)


def _sets_seen(item: FetchAtt) -> bool:
    if isinstance(item, (BodySection, BinarySection)):
        return not item.is_peek
    return item in (FetchItem.RFC822, FetchItem.RFC822_TEXT)


def _sends_body(item: FetchAtt) -> bool:
    """Whether ``item`` sends message content beyond headers (canary detection)."""
    if isinstance(item, BodySection):
        return item.section.text not in (SectionText.HEADER, SectionText.HEADER_FIELDS,
                                         SectionText.HEADER_FIELDS_NOT, SectionText.MIME)
    if isinstance(item, BinarySection):
        return True
    return item in (FetchItem.RFC822, FetchItem.RFC822_TEXT)


def _needs_blob(item: FetchAtt) -> bool:
    return isinstance(item, (BodySection, BinarySection, BinarySize)) or item in _NEEDS_BLOB


def section_spec(section: Section) -> bytes:
    """The ``section-spec`` as echoed in the response: ``1.2.HEADER.FIELDS (A B)``."""
    out = ".".join(str(n) for n in section.part).encode("ascii")
    if section.text is not None:
        if out:
            out += b"."
        out += section.text.value.encode("ascii")
        if section.fields:
            out += b" " + encoder.paren(encoder.astring(f) for f in section.fields)
    return out


def _partial(data: bytes, partial: tuple[int, int] | None) -> tuple[bytes, bytes]:
    if partial is None:
        return data, b""
    start, length = partial
    start = max(start, 0)
    length = max(length, 0)
    return data[start:start + length], b"<%d>" % start


def _part_spec(part: tuple[int, ...]) -> bytes:
    return ".".join(str(n) for n in part).encode("ascii")


class _UnknownCte(Exception):
    pass


def _render(item: FetchAtt, meta: MessageMeta, raw: bytes | None, root: Part | None
            ) -> bytes | None:
    """One ``msg-att`` (name and value); None for FLAGS/UID handled by the caller."""
    if isinstance(item, FetchItem):
        if item is FetchItem.FLAGS or item is FetchItem.UID:
            return None
        if item is FetchItem.INTERNALDATE:
            return b"INTERNALDATE " + encoder.date_time(meta.internal_date)
        if item is FetchItem.RFC822_SIZE:
            return b"RFC822.SIZE %d" % meta.size
        if item is FetchItem.ENVELOPE:
            return b"ENVELOPE " + meta.envelope
        if item is FetchItem.BODY:
            return b"BODY " + meta.body
        if item is FetchItem.BODYSTRUCTURE:
            return b"BODYSTRUCTURE " + meta.bodystructure
        if item is FetchItem.MODSEQ:
            return b"MODSEQ (%d)" % meta.modseq
        assert raw is not None and root is not None
        if item is FetchItem.RFC822:
            return b"RFC822 " + encoder.literal(raw)
        if item is FetchItem.RFC822_HEADER:
            return b"RFC822.HEADER " + encoder.literal(section_bytes(raw, root, (), "HEADER"))
        return b"RFC822.TEXT " + encoder.literal(section_bytes(raw, root, (), "TEXT"))
    assert raw is not None and root is not None
    if isinstance(item, BodySection):
        sec = item.section
        text = None if sec.text is None else sec.text.value
        data = section_bytes(raw, root, sec.part, text, sec.fields)
        data, origin = _partial(data, item.partial)
        return b"BODY[" + section_spec(sec) + b"]" + origin + b" " + encoder.literal(data)
    if isinstance(item, BinarySection):
        decoded = binary_bytes(raw, root, item.part)
        if decoded is None:
            raise _UnknownCte
        decoded, origin = _partial(decoded, item.partial)
        lit = encoder.literal8(decoded) if b"\x00" in decoded else encoder.literal(decoded)
        return b"BINARY[" + _part_spec(item.part) + b"]" + origin + b" " + lit
    decoded = binary_bytes(raw, root, item.part)
    if decoded is None:
        raise _UnknownCte
    return b"BINARY.SIZE[" + _part_spec(item.part) + b"] %d" % len(decoded)


_FROM_VIEW: Final = frozenset((FetchItem.FLAGS, FetchItem.UID, FetchItem.MODSEQ))


async def _fetch_from_view(session: Session, view: SelectedMailbox, uids: list[int],
                           cmd: Fetch) -> Completion:
    """FETCH of FLAGS, UID and/or MODSEQ only: answered from the session's view (kept
    current by the change log and the session's own STOREs), with no store call. Messages
    expunged elsewhere count as missing, as they do on the store path."""
    await view.refresh()
    wants_flags = FetchItem.FLAGS in cmd.items
    wants_uid = cmd.is_uid or FetchItem.UID in cmd.items
    wants_modseq = FetchItem.MODSEQ in cmd.items
    gone = view.gone
    flags = view.flags
    modseqs = view.modseqs
    recent = view.recent
    rendered: dict[tuple[frozenset[str], bool], bytes] = {}
    lines: list[bytes] = []
    size = 0
    missing = 0
    view_uids = view.uids
    for uid in uids:
        current = flags.get(uid)
        if uid in gone or current is None:
            missing += 1
            continue
        i = bisect.bisect_left(view_uids, uid)
        if i >= len(view_uids) or view_uids[i] != uid:
            missing += 1
            continue
        if wants_flags:
            is_recent = uid in recent
            fl = rendered.get((current, is_recent))
            if fl is None:
                fl = rendered[(current, is_recent)] = flags_bytes(current, is_recent)
            line = (b"* %d FETCH (UID %d FLAGS %s" % (i + 1, uid, fl) if wants_uid
                    else b"* %d FETCH (FLAGS %s" % (i + 1, fl))
        elif wants_uid:
            line = b"* %d FETCH (UID %d" % (i + 1, uid)
        else:
            line = b"* %d FETCH (" % (i + 1)
        if wants_modseq:  # the store path's order: UID, FLAGS, then the other items
            line += b"MODSEQ (%d))\r\n" % modseqs.get(uid, 0) if line[-1:] == b"(" \
                else b" MODSEQ (%d))\r\n" % modseqs.get(uid, 0)
        else:
            line += b")\r\n"
        lines.append(line)
        size += len(line)
        if size >= _CHUNK_BYTES:
            session.write(b"".join(lines))
            lines.clear()
            size = 0
            await session.drain()
    session.write(b"".join(lines))
    if missing and not cmd.is_uid:
        return no("Some messages were expunged", ResponseCode.EXPUNGEISSUED)
    return ok("FETCH completed")


async def handle_fetch(session: Session, cmd: Fetch) -> Completion:
    view = session.require_selected()
    # A revoked "r" takes effect now, not at the next SELECT (O(1) unless an ACL changed).
    refused = await session.require_access().check_selected_now(Operation.FETCH)
    if refused is not None:
        return refused
    uids = session.resolve(cmd.sequence_set, is_uid=cmd.is_uid)
    if uids is None:
        return session.bad_sequence()
    items = cmd.items
    if cmd.changed_since is None and all(isinstance(i, FetchItem) and i in _FROM_VIEW
                                         for i in items):
        return await _fetch_from_view(session, view, uids, cmd)
    wants_flags = FetchItem.FLAGS in items
    wants_uid = cmd.is_uid or FetchItem.UID in items
    sets_seen = (not view.is_readonly and any(_sets_seen(i) for i in items)
                 and session.require_access().may_selected(Right.SEEN))  # RFC 4314 §4
    needs_blob = any(_needs_blob(i) for i in items)
    others = [i for i in items if i is not FetchItem.FLAGS and i is not FetchItem.UID]
    store = session.store.messages
    missing = 0
    unknown_cte = False
    out = bytearray()
    audit = session.audit
    sends_body = any(_sends_body(i) for i in others)
    audit.fetch_started(session.require_user().name, view.info.name)
    for start in range(0, len(uids), _META_BATCH):
        batch = uids[start:start + _META_BATCH]
        metas = await store.fetch_meta(view.mailbox_id, batch)
        missing += len(batch) - len(metas)
        seen_now: set[int] = set()
        if sets_seen:
            unseen = [m.uid for m in metas if SEEN not in m.flags]
            if unseen:
                updates, _ = await store.store_flags(view.mailbox_id, unseen, FlagMode.ADD,
                                                     frozenset((SEEN,)))
                for upd in updates:
                    view.flags[upd.uid] = upd.flags
                    view.modseqs[upd.uid] = max(view.modseqs.get(upd.uid, 0), upd.modseq)
                    view.flags_changed.discard(upd.uid)
                    seen_now.add(upd.uid)
        for meta in metas:
            seq = view.seq_of(meta.uid)
            if seq is None:
                continue
            parts: list[bytes] = []
            if wants_uid:
                parts.append(b"UID %d" % meta.uid)
            if wants_flags or meta.uid in seen_now:
                current = view.flags.get(meta.uid, meta.flags) if meta.uid in seen_now \
                    else meta.flags
                parts.append(b"FLAGS " + flags_bytes(current, view.is_recent(meta.uid)))
            raw: bytes | None = None
            root: Part | None = None
            if needs_blob:
                raw = await store.read_blob(meta.blob_id)
                root = Part.loads(meta.mime)
            try:
                for item in others:
                    rendered = _render(item, meta, raw, root)
                    if rendered is not None:
                        parts.append(rendered)
            except _UnknownCte:
                unknown_cte = True
                continue
            line = b"* %d FETCH (" % seq + b" ".join(parts) + b")\r\n"
            out += line
            audit.fetch_progress(meta.uid, len(line), sends_body)
            if len(out) >= _CHUNK_BYTES:
                session.write(bytes(out))
                await audit.pace(len(out))
                out.clear()
                await session.drain()
    session.write(bytes(out))
    audit.fetch_done()
    if unknown_cte:
        return no("Unknown content transfer encoding", ResponseCode.UNKNOWN_CTE)
    if missing and not cmd.is_uid:
        return no("Some messages were expunged", ResponseCode.EXPUNGEISSUED)
    return ok("FETCH completed")
