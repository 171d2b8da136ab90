"""CREATE DELETE RENAME SUBSCRIBE UNSUBSCRIBE LIST LSUB NAMESPACE STATUS.

One personal namespace, ``""`` with ``/`` as the delimiter. LIST patterns are matched by a
linear dynamic-programming matcher (never a regular expression built from input), with runs of
wildcards collapsed first, so hostile patterns cost O(len(name) × len(pattern)) at worst.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

from mailfort.acl.names import ListPattern, find_equivalent
from mailfort.acl.policy import Operation, Target
from mailfort.acl.rights import NO_RIGHTS, Right
from mailfort.imap import encoder
from mailfort.imap.codes import ResponseCode
from mailfort.imap.commands import (
    Create,
    Delete,
    List,
    Lsub,
    Namespace,
    Rename,
    Status,
    StatusItem,
    Subscribe,
    Unsubscribe,
)
from mailfort.service.imap.access import NONEXISTENT, NOPERM, Visible
from mailfort.service.imap.errors import Completion, no, ok
from mailfort.store.errors import MailboxExists
from mailfort.store.types import MailboxInfo, MailboxStatus, UserId

if TYPE_CHECKING:
    from mailfort.service.imap.session import Session

__all__ = ["handle_create", "handle_delete", "handle_rename", "handle_subscribe",
           "handle_unsubscribe", "handle_list", "handle_lsub", "handle_namespace",
           "handle_status", "pattern_matches", "normalise_name", "status_bytes"]

DELIMITER: Final = "/"
MAX_NAME_CHARS: Final = 512
MAX_DEPTH: Final = 32
SPECIAL_USES: Final = frozenset(("\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk",
                                 "\\Sent", "\\Trash"))
_INVALID_NAME: Final = no("Invalid mailbox name", ResponseCode.CANNOT)


def normalise_name(name: str) -> str | None:
    """The canonical form of a mailbox name to create, or None when it is not acceptable:
    empty, absolute, with empty / ``.`` / ``..`` components, wildcards, control characters,
    a namespace prefix (``~``, ``#``), or too long or deep. One trailing delimiter is dropped
    (RFC 9051 §6.3.4)."""
    if name.endswith(DELIMITER):
        name = name[:-1]
    if not name or len(name) > MAX_NAME_CHARS:
        return None
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F or ch in "*%" for ch in name):
        return None
    if name[0] in "~#":  # other users' and shared namespaces: none exist here
        return None
    parts = name.split(DELIMITER)
    if len(parts) > MAX_DEPTH or any(p in ("", ".", "..") for p in parts):
        return None
    if parts[0].upper() == "INBOX":
        parts[0] = "INBOX"
    return DELIMITER.join(parts)


def _collapse(pattern: str) -> str:
    out: list[str] = []
    for ch in pattern:
        if ch in "*%" and out and out[-1] in "*%":
            out[-1] = "*" if "*" in (ch, out[-1]) else "%"
        else:
            out.append(ch)
    return "".join(out)


def pattern_matches(pattern: str, name: str) -> bool:
    """LIST wildcard matching: ``*`` matches anything, ``%`` anything but the delimiter
    (``acl.names.ListPattern``: linear in the name whatever the number of wildcards)."""
    return ListPattern.compile(pattern).matches(name)


def _dp_pattern_matches(pattern: str, name: str) -> bool:
    """The former dynamic-programming matcher (kept for comparison in tests)."""
    if pattern[:5].upper() == "INBOX" and (len(pattern) == 5 or pattern[5] in "/*%"):
        pattern = "INBOX" + pattern[5:]
    pattern = _collapse(pattern)
    literal_chars = sum(1 for ch in pattern if ch not in "*%")
    if literal_chars > len(name):
        return False
    n = len(name)
    row = [False] * (n + 1)  # row[j]: pattern[:i] matches name[:j]
    row[0] = True
    for ch in pattern:
        nxt = [False] * (n + 1)
        if ch == "*":
            seen = False
            for j in range(n + 1):
                seen = seen or row[j]
                nxt[j] = seen
        elif ch == "%":
            seen = False
            for j in range(n + 1):
                if j > 0 and name[j - 1] == DELIMITER:
                    seen = False
                seen = seen or row[j]
                nxt[j] = seen
        else:
            for j in range(1, n + 1):
                nxt[j] = row[j - 1] and name[j - 1] == ch
        row = nxt
        if not any(row):
            return False
    return row[n]


def _parents(name: str) -> list[str]:
    parts = name.split(DELIMITER)
    return [DELIMITER.join(parts[:i]) for i in range(1, len(parts))]


def _full_pattern(reference: str, pattern: str) -> str:
    if not reference or pattern.startswith(DELIMITER):
        return pattern
    return reference + pattern


def _is_foreign(name: str) -> bool:
    return name.startswith(("Other Users/", "Shared/"))


def _may_show(subscribed: set[str], visible: dict[str, Visible]) -> set[str]:
    """Subscriptions to other users' and shared names show only while the user may see
    them (``l``): LIST and LSUB never name a mailbox the user cannot see."""
    return {n for n in subscribed if not _is_foreign(n) or n in visible}


def _sort_key(name: str) -> tuple[int, str]:
    return (0 if name == "INBOX" else 1, name)


def status_bytes(session: Session, name: str, st: MailboxStatus,
                 items: Iterable[StatusItem]) -> bytes:
    values = {
        StatusItem.MESSAGES: st.messages, StatusItem.UIDNEXT: st.uidnext,
        StatusItem.UIDVALIDITY: st.uidvalidity, StatusItem.UNSEEN: st.unseen,
        StatusItem.DELETED: st.deleted, StatusItem.SIZE: st.size,
        StatusItem.RECENT: st.recent, StatusItem.HIGHESTMODSEQ: st.highest_modseq,
    }
    body = b" ".join(b"%s %d" % (i.value.encode("ascii"), values[i]) for i in items)
    return b"* STATUS " + encoder.mailbox_name(name) + b" (" + body + b")\r\n"


async def _create_parents(session: Session, user_id: UserId, name: str
                          ) -> list[MailboxInfo]:
    """Create the missing ancestors of ``name``; returns those this call created (they
    inherit the ACL in a foreign tree, as the leaf does: issue #6)."""
    made: list[MailboxInfo] = []
    for parent in _parents(name):
        if await session.store.mailboxes.get(user_id, parent) is None:
            try:
                made.append(await session.store.mailboxes.create(user_id, parent))
            except MailboxExists:
                pass
    return made


# ---- handlers ------------------------------------------------------------------------------
async def handle_create(session: Session, cmd: Create) -> Completion:
    user = session.require_user()
    name = normalise_name(cmd.mailbox)
    if name is None:
        return _INVALID_NAME
    if name == "INBOX":
        return no("Mailbox already exists", ResponseCode.ALREADYEXISTS)
    special: str | None = None
    if cmd.special_use:
        uses = [u for u in cmd.special_use]
        canon = {s.lower(): s for s in SPECIAL_USES}
        if len(uses) > 1 or uses[0].lower() not in canon:
            return no("Unsupported special-use attribute", ResponseCode.CANNOT)
        special = canon[uses[0].lower()]
    access = session.require_access()
    place = await access.place(name, strict=True)
    if place is None:  # another user's or a shared tree that does not exist: as a root
        return NOPERM
    refused = access.check(Operation.CREATE, {Target.PARENT: await access.parent_rights(place)},
                           name=place.name, owner=place.owner_text)
    if refused is not None:
        return refused
    if place.info is not None:
        return no("Mailbox already exists", ResponseCode.ALREADYEXISTS)
    existing = [m.name for m in await session.store.mailboxes.list(place.account)]
    if find_equivalent(place.local, existing) is not None:
        return no("Mailbox already exists", ResponseCode.ALREADYEXISTS)
    inherited = await access.acl_to_inherit(place)  # before any parent is made
    parents = await _create_parents(session, place.account, place.local)
    created = await session.store.mailboxes.create(place.account, place.local, special)
    await access.apply_inherited(inherited, (*parents, created))
    session.audit.mailbox_created(user.name, place.name)
    return ok("CREATE completed")


async def handle_delete(session: Session, cmd: Delete) -> Completion:
    user = session.require_user()
    if cmd.mailbox.upper() == "INBOX":
        return no("INBOX cannot be deleted", ResponseCode.CANNOT)
    access = session.require_access()
    place = await access.place(cmd.mailbox)
    if place is None:
        return NONEXISTENT
    refused = access.check_place(Operation.DELETE, place)
    if refused is not None:
        return refused
    info = place.info
    if info is None:
        return NONEXISTENT
    if not place.is_personal and (place.local == "INBOX" or "/" not in place.local
                                  and place.name.startswith("Shared/")):
        return no("This mailbox cannot be deleted over IMAP", ResponseCode.CANNOT)
    if session.selected is not None and session.selected.info.id == info.id:
        session.deselect()
    messages = 0
    if session.audit.is_on:  # how many messages go with it (DELETE is no hot path)
        messages = (await session.store.mailboxes.status(info.id)).messages
    await session.store.mailboxes.delete(place.account, place.local)
    session.audit.mailbox_deleted(user.name, place.name, messages)
    return ok("DELETE completed")


async def handle_rename(session: Session, cmd: Rename) -> Completion:
    user = session.require_user()
    new = normalise_name(cmd.new_name)
    if new is None:
        return _INVALID_NAME
    if new == "INBOX":
        return no("Mailbox already exists", ResponseCode.ALREADYEXISTS)
    boxes = session.store.mailboxes
    access = session.require_access()
    old_place = await access.place(cmd.mailbox)
    if old_place is None:
        return NONEXISTENT
    new_place = await access.place(new, strict=True)
    parent = await access.parent_rights(new_place) if new_place is not None else None
    parent_rights = parent if parent is not None else NO_RIGHTS
    refused = access.check(Operation.RENAME, {Target.MAILBOX: old_place.rights,
                                              Target.PARENT: parent_rights},
                           name=old_place.name, owner=old_place.owner_text)
    if refused is not None:
        return refused
    source = old_place.info
    if source is None:
        return NONEXISTENT
    if new_place is None or new_place.account != old_place.account or (
            not old_place.is_personal and (old_place.local == "INBOX" or "/" not in old_place.local
                                           and old_place.name.startswith("Shared/"))):
        return no("Cannot rename across namespaces or accounts", ResponseCode.CANNOT)
    if new_place.info is not None:
        return no("Mailbox already exists", ResponseCode.ALREADYEXISTS)
    existing = [m.name for m in await boxes.list(new_place.account)]
    if find_equivalent(new_place.local, existing) is not None:
        return no("Mailbox already exists", ResponseCode.ALREADYEXISTS)
    account, new = new_place.account, new_place.local
    inherited = await access.acl_to_inherit(new_place)  # for parents made on the way
    await access.apply_inherited(inherited, await _create_parents(session, account, new))
    if source.name == "INBOX":
        target = await boxes.create(account, new)
        snapshot = await session.store.messages.snapshot(source.id)
        if snapshot.uids:
            await session.store.messages.move(source.id, snapshot.uids, target.id)
    else:
        await boxes.rename(account, source.name, new)
    session.audit.mailbox_renamed(user.name, old_place.name, new_place.name)
    return ok("RENAME completed")


async def handle_subscribe(session: Session, cmd: Subscribe) -> Completion:
    user = session.require_user()
    name = normalise_name(cmd.mailbox)
    if name is None:
        return _INVALID_NAME
    access = session.require_access()
    place = await access.place(name)
    if place is None:
        return NONEXISTENT
    if not place.is_personal:  # one's own names may be subscribed before they exist
        refused = access.check_place(Operation.SUBSCRIBE, place)
        if refused is not None:
            return refused
        if place.info is None:
            return NONEXISTENT
    name = place.name
    await session.store.mailboxes.set_subscribed(user.id, name, True)
    return ok("SUBSCRIBE completed")


async def handle_unsubscribe(session: Session, cmd: Unsubscribe) -> Completion:
    user = session.require_user()
    name = cmd.mailbox[:-1] if cmd.mailbox.endswith(DELIMITER) else cmd.mailbox
    await session.store.mailboxes.set_subscribed(user.id, name, False)
    return ok("UNSUBSCRIBE completed")


async def handle_namespace(session: Session, cmd: Namespace) -> Completion:
    session.require_user()
    if session.require_access().acl is None:
        session.write(b'* NAMESPACE (("" "/")) NIL NIL\r\n')
    else:
        session.write(b'* NAMESPACE (("" "/")) (("Other Users/" "/")) (("Shared/" "/"))\r\n')
    return ok("NAMESPACE completed")


async def handle_status(session: Session, cmd: Status) -> Completion:
    access = session.require_access()
    place = await access.place(cmd.mailbox)
    if place is None:
        return NONEXISTENT
    refused = access.check_place(Operation.STATUS, place)
    if refused is not None:
        return refused
    info = place.info
    if info is None:
        return NONEXISTENT
    st = await session.store.mailboxes.status(info.id)
    session.write(status_bytes(session, place.name, st, cmd.items))
    return ok("STATUS completed")


async def handle_list(session: Session, cmd: List) -> Completion:
    user = session.require_user()
    if len(cmd.patterns) == 1 and cmd.patterns[0] == "" and not cmd.is_extended:
        session.write(b'* LIST (\\Noselect) "/" ""\r\n')
        return ok("LIST completed")
    visible = await session.require_access().visible()
    infos = {n: v.info for n, v in visible.items()}
    sel = cmd.selection
    want_subscribed = "SUBSCRIBED" in sel or cmd.returns.subscribed
    subscribed = _may_show(await session.store.mailboxes.subscriptions(user.id), visible) \
        if want_subscribed else set()
    every = set(infos)
    for name in list(infos):
        every.update(_parents(name))
    with_children = {p for n in every for p in _parents(n)}
    compiled = [ListPattern.compile(_full_pattern(cmd.reference, p))
                for p in cmd.patterns if p != ""]

    def pattern_hit(name: str) -> bool:
        return any(p.matches(name) for p in compiled)

    def matching(names: Iterable[str]) -> list[str]:
        return sorted((n for n in names if pattern_hit(n)), key=_sort_key)

    childinfo: set[str] = set()
    if "SUBSCRIBED" in sel:
        candidates = set(matching(subscribed))
        if "RECURSIVEMATCH" in sel:
            for sub in subscribed:
                for parent in _parents(sub):
                    if parent not in subscribed and pattern_hit(parent):
                        candidates.add(parent)
                        childinfo.add(parent)
        names = sorted(candidates, key=_sort_key)
    else:
        names = matching(every)
    if "SPECIAL-USE" in sel:
        names = [n for n in names if n in infos and infos[n].special_use]
    out = bytearray()
    for name in names:
        info = infos.get(name)
        attrs: list[str] = []
        if info is None:
            if name in every and name not in subscribed:
                attrs.append("\\Noselect")
            elif "SUBSCRIBED" in sel or cmd.returns.subscribed:
                attrs.append("\\NonExistent")
        attrs.append("\\HasChildren" if name in with_children else "\\HasNoChildren")
        if name in subscribed and want_subscribed:
            attrs.append("\\Subscribed")
        if info is not None and info.special_use:
            attrs.append(info.special_use)
        out += (b"* LIST " + encoder.flag_list(attrs) + b' "/" '
                + encoder.mailbox_name(name))
        if name in childinfo:
            out += b' ("CHILDINFO" ("SUBSCRIBED"))'
        out += b"\r\n"
        if cmd.returns.status is not None and info is not None \
                and Right.READ in visible[name].rights:
            st = await session.store.mailboxes.status(info.id)
            out += status_bytes(session, name, st, cmd.returns.status)
    session.write(bytes(out))
    return ok("LIST completed")


async def handle_lsub(session: Session, cmd: Lsub) -> Completion:
    user = session.require_user()
    subscribed = await session.store.mailboxes.subscriptions(user.id)
    if any(_is_foreign(n) for n in subscribed):
        subscribed = _may_show(subscribed, await session.require_access().visible())
    if cmd.pattern == "":
        session.write(b'* LSUB (\\Noselect) "/" ""\r\n')
        return ok("LSUB completed")
    matcher = ListPattern.compile(_full_pattern(cmd.reference, cmd.pattern))
    names = {n for n in subscribed if matcher.matches(n)}
    implied: set[str] = set()
    if cmd.pattern.endswith("%"):
        for sub in subscribed:
            for parent in _parents(sub):
                if parent not in subscribed and matcher.matches(parent):
                    implied.add(parent)
    out = bytearray()
    for name in sorted(names | implied, key=_sort_key):
        attrs = b"(\\Noselect)" if name in implied else b"()"
        out += b"* LSUB " + attrs + b' "/" ' + encoder.mailbox_name(name) + b"\r\n"
    session.write(bytes(out))
    return ok("LSUB completed")
