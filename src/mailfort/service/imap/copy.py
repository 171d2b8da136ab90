"""COPY / UID COPY and MOVE / UID MOVE (RFC 4315 COPYUID, RFC 6851)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mailfort.imap.codes import ResponseCode
from mailfort.imap.commands import Copy, Move
from mailfort.mail.uidset import SequenceSet
from mailfort.service.imap.errors import TRYCREATE, Completion, no, ok

if TYPE_CHECKING:
    from mailfort.service.imap.session import Session

__all__ = ["handle_copy", "handle_move"]


def _copyuid(uidvalidity: int, pairs: list[tuple[int, int]]) -> bytes:
    src = SequenceSet.from_sorted_ints([s for s, _ in pairs]).to_wire()
    dst = SequenceSet.from_sorted_ints([d for _, d in pairs]).to_wire()
    return f"{uidvalidity} {src} {dst}".encode("ascii")


async def handle_copy(session: Session, cmd: Copy) -> Completion:
    view = session.require_selected()
    user = session.require_user()
    uids = session.resolve(cmd.sequence_set, is_uid=cmd.is_uid)
    if uids is None:
        return session.bad_sequence()
    target = await session.store.mailboxes.get(user.id, cmd.mailbox)
    if target is None:
        return TRYCREATE
    live = [u for u in uids if u not in view.gone]
    if not live:
        if len(uids) != len(live):
            return no("Messages were expunged", ResponseCode.EXPUNGEISSUED)
        return ok("COPY completed")
    uidvalidity, pairs = await session.store.messages.copy(view.mailbox_id, live, target.id)
    if not pairs:
        return ok("COPY completed")
    pairs.sort()
    return ok("COPY completed", ResponseCode.COPYUID, _copyuid(uidvalidity, pairs))


async def handle_move(session: Session, cmd: Move) -> Completion:
    view = session.require_selected()
    user = session.require_user()
    if view.is_readonly:
        return no("Mailbox is read-only", ResponseCode.READ_ONLY)
    uids = session.resolve(cmd.sequence_set, is_uid=cmd.is_uid)
    if uids is None:
        return session.bad_sequence()
    target = await session.store.mailboxes.get(user.id, cmd.mailbox)
    if target is None:
        return TRYCREATE
    live = [u for u in uids if u not in view.gone]
    if not live:
        return ok("MOVE completed")
    uidvalidity, pairs = await session.store.messages.move(view.mailbox_id, live, target.id)
    pairs.sort()
    if pairs:
        session.write(b"* OK [COPYUID " + _copyuid(uidvalidity, pairs) + b"] Moved\r\n")
    session.write(view.forget(s for s, _ in pairs))
    return ok("MOVE completed")
