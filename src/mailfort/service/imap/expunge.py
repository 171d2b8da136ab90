"""EXPUNGE and UID EXPUNGE (RFC 4315)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mailfort.acl.policy import Operation
from mailfort.imap.codes import ResponseCode
from mailfort.imap.commands import Expunge
from mailfort.service.imap.errors import Completion, no, ok

if TYPE_CHECKING:
    from mailfort.service.imap.session import Session

__all__ = ["handle_expunge"]


async def handle_expunge(session: Session, cmd: Expunge) -> Completion:
    view = session.require_selected()
    access = session.require_access()
    await access.refresh_selected()
    refused = access.check_selected(Operation.EXPUNGE)  # rights first, as in STORE
    if refused is not None:
        return refused
    if view.is_readonly:
        return no("Mailbox is read-only", ResponseCode.READ_ONLY)
    uids = None
    if cmd.uids is not None:
        uids = session.resolve(cmd.uids, is_uid=True)
        if not uids:
            return ok("EXPUNGE completed")
    removed = await session.store.messages.expunge(view.mailbox_id, uids)
    session.audit.expunged(session.require_user().name, view.info.name, len(removed))
    session.write(view.forget(removed))
    return ok("EXPUNGE completed")
