"""COPY / UID COPY and MOVE / UID MOVE (RFC 4315 COPYUID, RFC 6851)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mailfort.acl.policy import Operation, Target
from mailfort.acl.rights import ALL_RIGHTS
from mailfort.imap.codes import ResponseCode
from mailfort.imap.commands import Copy, Move
from mailfort.mail.uidset import SequenceSet
from mailfort.service.imap.access import NOPERM
from mailfort.service.imap.errors import TRYCREATE, Completion, no, ok
from mailfort.store.types import MailboxInfo

if TYPE_CHECKING:
    from mailfort.service.imap.session import Session

__all__ = ["handle_copy", "handle_move"]


def _copyuid(uidvalidity: int, pairs: list[tuple[int, int]]) -> bytes:
    src = SequenceSet.from_sorted_ints([s for s, _ in pairs]).to_wire()
    dst = SequenceSet.from_sorted_ints([d for _, d in pairs]).to_wire()
    return f"{uidvalidity} {src} {dst}".encode("ascii")


async def _destination(session: Session, operation: Operation, name: str
                       ) -> MailboxInfo | Completion:
    """COPY/MOVE: the source is the selected mailbox (rights read at SELECT), the
    destination is checked here; a destination the user cannot see answers TRYCREATE."""
    access = session.require_access()
    await access.refresh_selected()
    place = await access.place(name)
    if place is None:
        return TRYCREATE
    src = access.selected_place
    if src is not None and access.check(operation, {Target.MAILBOX: access.selected_rights,
                                                    Target.DESTINATION: ALL_RIGHTS},
                                        name=src.name, owner=src.owner_text) is not None:
        return NOPERM  # the source is selected, so known: never "no such mailbox"
    refused = access.check(operation, {Target.MAILBOX: ALL_RIGHTS,
                                       Target.DESTINATION: place.rights},
                           name=place.name, owner=place.owner_text, is_target=True)
    if refused is not None:
        return refused
    if place.info is None:
        return TRYCREATE
    return place.info


async def handle_copy(session: Session, cmd: Copy) -> Completion:
    view = session.require_selected()
    user = session.require_user()
    uids = session.resolve(cmd.sequence_set, is_uid=cmd.is_uid)
    if uids is None:
        return session.bad_sequence()
    target = await _destination(session, Operation.COPY, cmd.mailbox)
    if not isinstance(target, MailboxInfo):
        return target
    live = [u for u in uids if u not in view.gone]
    if not live:
        if len(uids) != len(live):
            return no("Messages were expunged", ResponseCode.EXPUNGEISSUED)
        return ok("COPY completed")
    session.audit.accessed(user.name, "copy")
    uidvalidity, pairs = await session.store.messages.copy(view.mailbox_id, live, target.id)
    if not pairs:
        return ok("COPY completed")
    pairs.sort()
    return ok("COPY completed", ResponseCode.COPYUID, _copyuid(uidvalidity, pairs))


async def handle_move(session: Session, cmd: Move) -> Completion:
    view = session.require_selected()
    user = session.require_user()
    uids = session.resolve(cmd.sequence_set, is_uid=cmd.is_uid)
    if uids is None:
        return session.bad_sequence()
    target = await _destination(session, Operation.MOVE, cmd.mailbox)
    if not isinstance(target, MailboxInfo):
        return target
    if view.is_readonly:  # after the rights, as in STORE and EXPUNGE
        return no("Mailbox is read-only", ResponseCode.READ_ONLY)
    live = [u for u in uids if u not in view.gone]
    if not live:
        return ok("MOVE completed")
    session.audit.accessed(user.name, "copy")
    uidvalidity, pairs = await session.store.messages.move(view.mailbox_id, live, target.id)
    pairs.sort()
    session.audit.expunged(user.name, view.info.name, len(pairs))
    if pairs:
        session.write(b"* OK [COPYUID " + _copyuid(uidvalidity, pairs) + b"] Moved\r\n")
    session.write(view.forget(s for s, _ in pairs))
    return ok("MOVE completed")
