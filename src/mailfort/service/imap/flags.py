"""STORE and UID STORE: +FLAGS, -FLAGS, FLAGS, .SILENT (RFC 9051 §6.4.6)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from mailfort.acl.policy import store_rights
from mailfort.imap.codes import ResponseCode
from mailfort.imap.commands import Store, StoreMode
from mailfort.mail.flags import DELETED
from mailfort.mail.uidset import SequenceSet
from mailfort.service.delivery import clean_flags
from mailfort.service.imap.errors import Completion, no, ok
from mailfort.service.imap.select import flags_bytes
from mailfort.store.types import FlagMode

if TYPE_CHECKING:
    from mailfort.service.imap.session import Session

__all__ = ["handle_store", "flags_acceptable", "TOO_MANY_FLAGS"]

_MODES: Final = {StoreMode.ADD: FlagMode.ADD, StoreMode.REMOVE: FlagMode.REMOVE,
                 StoreMode.REPLACE: FlagMode.REPLACE}
MAX_KEYWORDS_PER_STORE: Final = 100
MAX_KEYWORD_CHARS: Final = 64  # Dovecot caps at 50; CVE-2021-33582 class (SECURITY.md #23)
TOO_MANY_FLAGS: Final = no("Too many or too long keywords", ResponseCode.LIMIT)


def flags_acceptable(flags: tuple[str, ...]) -> bool:
    """Bounded count and length of the flags one command may set."""
    return (len(flags) <= MAX_KEYWORDS_PER_STORE
            and all(len(f) <= MAX_KEYWORD_CHARS for f in flags))


async def handle_store(session: Session, cmd: Store) -> Completion:
    view = session.require_selected()
    if not flags_acceptable(cmd.flags):
        return TOO_MANY_FLAGS
    access = session.require_access()
    await access.refresh_selected()
    # Rights first: a SELECT made read-only by missing rights answers NOPERM (and is
    # audited); READ-ONLY is for EXAMINE by someone who could otherwise write.
    for operation in sorted(store_rights(cmd.flags, is_replace=cmd.mode is StoreMode.REPLACE),
                            key=lambda op: op.value):
        denied = access.check_selected(operation)
        if denied is not None:
            return denied
    if view.is_readonly:
        return no("Mailbox is read-only", ResponseCode.READ_ONLY)
    uids = session.resolve(cmd.sequence_set, is_uid=cmd.is_uid)
    if uids is None:
        return session.bad_sequence()
    live = [u for u in uids if u not in view.gone]
    updates, refused = await session.store.messages.store_flags(
        view.mailbox_id, live, _MODES[cmd.mode], clean_flags(cmd.flags), cmd.unchanged_since)
    newly_deleted = sum(1 for upd in updates if DELETED in upd.flags
                        and DELETED not in view.flags.get(upd.uid, frozenset()))
    session.audit.flagged_deleted(session.require_user().name, view.info.name, newly_deleted)
    for upd in updates:
        view.flags[upd.uid] = upd.flags
        view.modseqs[upd.uid] = max(view.modseqs.get(upd.uid, 0), upd.modseq)
        view.flags_changed.discard(upd.uid)
        view.keywords.update(f for f in upd.flags if not f.startswith("\\"))
    out = bytearray()
    if view.keywords != view.announced_keywords:
        view.announced_keywords = set(view.keywords)
        out += b"* FLAGS " + view.flags_list() + b"\r\n"
    if not cmd.is_silent:
        for uid in live:
            seq = view.seq_of(uid)
            if seq is None or uid not in view.flags:
                continue
            fl = flags_bytes(view.flags[uid], view.is_recent(uid))
            if cmd.is_uid:
                out += b"* %d FETCH (UID %d FLAGS %s)\r\n" % (seq, uid, fl)
            else:
                out += b"* %d FETCH (FLAGS %s)\r\n" % (seq, fl)
    session.write(bytes(out))
    if refused:
        text = SequenceSet.from_sorted_ints(sorted(refused)).to_wire().encode("ascii")
        return ok("Conditional STORE failed", ResponseCode.MODIFIED, text)
    if len(live) != len(uids):
        return no("Some messages were expunged", ResponseCode.EXPUNGEISSUED)
    return ok("STORE completed")
