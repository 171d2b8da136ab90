"""APPEND (with MULTIAPPEND-shaped input): APPENDUID, TRYCREATE, TOOBIG."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mailfort.acl.policy import Operation, permitted_flags
from mailfort.imap.codes import ResponseCode
from mailfort.imap.commands import Append
from mailfort.mail.uidset import SequenceSet
from mailfort.service.delivery import MessageTooLarge, deliver
from mailfort.service.imap.errors import TRYCREATE, Completion, no, ok
from mailfort.service.imap.flags import TOO_MANY_FLAGS, flags_acceptable

if TYPE_CHECKING:
    from mailfort.service.imap.session import Session

__all__ = ["handle_append"]


async def handle_append(session: Session, cmd: Append) -> Completion:
    session.require_user()
    access = session.require_access()
    place = await access.place(cmd.mailbox)
    if place is None:
        return TRYCREATE
    refused = access.check_place(Operation.APPEND, place, is_target=True)
    if refused is not None:
        return refused
    info = place.info
    if info is None:
        return TRYCREATE
    if not all(flags_acceptable(m.flags) for m in cmd.messages):
        return TOO_MANY_FLAGS
    limit = session.settings.limits.max_message_bytes
    if any(len(m.message) > limit for m in cmd.messages):
        return no("Message too large", ResponseCode.TOOBIG)
    uids: list[int] = []
    uidvalidity = info.uidvalidity
    try:
        for m in cmd.messages:
            result = await deliver(session.store, info.id, m.message,
                                   flags=permitted_flags(place.rights, m.flags),
                                   internal_date=m.internal_date, max_message_bytes=limit)
            uids.append(result.uid)
            uidvalidity = result.uidvalidity
    except MessageTooLarge:
        return no("Message too large", ResponseCode.TOOBIG)
    uid_text = SequenceSet.from_sorted_ints(uids).to_wire().encode("ascii")
    return ok("APPEND completed", ResponseCode.APPENDUID, b"%d %s" % (uidvalidity, uid_text))
