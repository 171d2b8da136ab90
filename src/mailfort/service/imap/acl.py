"""GETACL SETACL DELETEACL LISTRIGHTS MYRIGHTS (RFC 4314) and GETQUOTA GETQUOTAROOT SETQUOTA
(RFC 9208). Every check goes through ``service/imap/access.py``.

Quota root names on the wire: ``""`` for the user's own account, ``Other Users/<login>`` for
another account, ``Shared/<name>`` for a shared tree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from mailfort.acl.names import OTHER_USERS_PREFIX, SHARED_PREFIX
from mailfort.acl.policy import (
    OWNER_GROUP_RIGHTS,
    OWNER_RIGHTS,
    Identifier,
    IdentifierKind,
    InvalidIdentifier,
    NegativeRightsUnsupported,
    Operation,
    OwnerKind,
    Target,
    parse_identifier,
)
from mailfort.acl.quota import (
    InvalidQuota,
    QuotaLimits,
    QuotaUsage,
    limits_from_units,
    quota_resources,
)
from mailfort.acl.rights import (
    InvalidRights,
    Right,
    Rights,
    format_rights,
    format_with_obsolete,
    parse_rights,
    parse_rights_change,
)
from mailfort.acl.roles import Permission, may
from mailfort.audit.events import AccessDenied, AdminAction, PermissionChanged
from mailfort.imap import encoder
from mailfort.imap.acl_commands import (
    DeleteAcl,
    GetAcl,
    GetQuota,
    GetQuotaRoot,
    ListRights,
    MyRights,
    SetAcl,
    SetQuota,
)
from mailfort.imap.codes import ResponseCode
from mailfort.service.imap.access import NONEXISTENT, NOPERM, Access, Place
from mailfort.service.imap.errors import Completion, bad, no, ok
from mailfort.store.acl import (
    Grantee,
    GranteeKind,
    NoSuchGroup,
    NoSuchSharedMailbox,
    QuotaRoot,
    QuotaRootKind,
    QuotaState,
)
from mailfort.store.errors import NoSuchUser

if TYPE_CHECKING:
    from mailfort.service.imap.session import Session

__all__ = ["handle_getacl", "handle_setacl", "handle_deleteacl", "handle_listrights",
           "handle_myrights", "handle_getquota", "handle_getquotaroot", "handle_setquota",
           "quota_root_name"]

_NO_ACL: Final = no("ACLs are not available on this server", ResponseCode.CANNOT)
_NEGATIVE: Final = no("Negative rights are not supported", ResponseCode.CANNOT)
_BAD_IDENTIFIER: Final = no("Invalid identifier", ResponseCode.CANNOT)
_NO_IDENTIFIER: Final = no("No such identifier", ResponseCode.CANNOT)
_BAD_RIGHTS: Final = bad("Invalid rights")
_NO_ROOT: Final = no("No such quota root", ResponseCode.NONEXISTENT)
_BAD_QUOTA: Final = no("Unsupported resource or limit", ResponseCode.CANNOT)
_OPTIONAL: Final = tuple(r.value for r in Right)
_GRANTEE_KIND: Final = {IdentifierKind.USER: GranteeKind.USER,
                        IdentifierKind.GROUP: GranteeKind.GROUP,
                        IdentifierKind.ANYONE: GranteeKind.ANYONE}


def _name(session: Session, name: str) -> bytes:
    return encoder.mailbox_name(name)


def _astr(text: str) -> bytes:
    return encoder.astring(text)


async def _existing(session: Session, access: Access, name: str, operation: Operation
                    ) -> Place | Completion:
    """Resolve ``name`` and check ``operation`` on it; a missing mailbox and a hidden one
    answer alike."""
    place = await access.place(name)
    if place is None:
        return NONEXISTENT
    refused = access.check_place(operation, place)
    if refused is not None:
        return refused
    if place.info is None:
        return NONEXISTENT
    return place


def _grantee(identifier: Identifier) -> Grantee:
    return Grantee(_GRANTEE_KIND[identifier.kind], identifier.name)


def _identifier(text: str) -> Identifier | Completion:
    try:
        return parse_identifier(text)
    except NegativeRightsUnsupported:
        return _NEGATIVE
    except InvalidIdentifier:
        return _BAD_IDENTIFIER


def _owner_identifier(place: Place) -> tuple[str, Rights]:
    if place.owner.kind is OwnerKind.GROUP:
        return "$" + place.owner.name, OWNER_GROUP_RIGHTS
    return place.owner.name, OWNER_RIGHTS


# ---- RFC 4314 ------------------------------------------------------------------------------
async def handle_getacl(session: Session, cmd: GetAcl) -> Completion:
    access = session.require_access()
    if access.acl is None:
        return _NO_ACL
    place = await _existing(session, access, cmd.mailbox, Operation.GETACL)
    if not isinstance(place, Place):
        return place
    assert place.info is not None
    owner, owner_rights = _owner_identifier(place)
    pairs = [(owner, format_rights(owner_rights))]
    for rec in await access.acl.acl.get(place.info.id):
        who = {GranteeKind.GROUP: "$" + rec.grantee.name,
               GranteeKind.ANYONE: "anyone"}.get(rec.grantee.kind, rec.grantee.name)
        pairs.append((who, rec.rights))
    session.write(b"* ACL " + _name(session, place.name) + b"".join(
        b" " + _astr(who) + b" " + _astr(rights) for who, rights in pairs) + b"\r\n")
    return ok("GETACL completed")


async def _change_acl(session: Session, mailbox: str, who: str, change: str | None,
                      operation: Operation) -> Completion:
    access = session.require_access()
    if access.acl is None:
        return _NO_ACL
    identifier = _identifier(who)
    if not isinstance(identifier, Identifier):
        return identifier
    rights_change = None
    if change is not None:
        try:
            rights_change = parse_rights_change(change)
        except InvalidRights:
            return _BAD_RIGHTS
    place = await _existing(session, access, mailbox, operation)
    if not isinstance(place, Place):
        return place
    assert place.info is not None
    grantee = _grantee(identifier)
    store = access.acl.acl
    new = ""
    try:
        if rights_change is None:
            await store.delete(place.info.id, grantee)
        else:
            current = Rights()
            for rec in await store.get(place.info.id):
                if (rec.grantee.kind is grantee.kind
                        and rec.grantee.name.casefold() == grantee.name.casefold()):
                    current = parse_rights(rec.rights)
            new = format_rights(rights_change.apply(current))
            await store.set(place.info.id, grantee, new)
    except (NoSuchUser, NoSuchGroup):
        return _NO_IDENTIFIER
    audit = session.audit
    audit.emit(PermissionChanged(at=audit.now(), user=access.user.name, peer=audit.peer,
                                 session_id=audit.session_id, owner=place.owner_text,
                                 mailbox=place.name, grantee=str(identifier), rights=new))
    if access.selected_place is not None and access.selected_place.info is not None \
            and access.selected_place.info.id == place.info.id:
        refreshed = await access.refreshed(access.selected_place)
        access.selected_place, access.selected_rights = refreshed, refreshed.rights
    return ok(("SETACL" if change is not None else "DELETEACL") + " completed")


async def handle_setacl(session: Session, cmd: SetAcl) -> Completion:
    return await _change_acl(session, cmd.mailbox, cmd.identifier, cmd.rights,
                             Operation.SETACL)


async def handle_deleteacl(session: Session, cmd: DeleteAcl) -> Completion:
    return await _change_acl(session, cmd.mailbox, cmd.identifier, None, Operation.DELETEACL)


async def handle_listrights(session: Session, cmd: ListRights) -> Completion:
    access = session.require_access()
    identifier = _identifier(cmd.identifier)
    if not isinstance(identifier, Identifier):
        return identifier
    place = await _existing(session, access, cmd.mailbox, Operation.LISTRIGHTS)
    if not isinstance(place, Place):
        return place
    owner, owner_rights = _owner_identifier(place)
    required = format_rights(owner_rights) if str(identifier).casefold() == owner.casefold() \
        else ""
    session.write(b"* LISTRIGHTS " + _name(session, place.name) + b" "
                  + _astr(cmd.identifier) + b" " + encoder.astring(required)
                  + b"".join(b" " + r.encode("ascii") for r in _OPTIONAL) + b"\r\n")
    return ok("LISTRIGHTS completed")


async def handle_myrights(session: Session, cmd: MyRights) -> Completion:
    access = session.require_access()
    place = await access.place(cmd.mailbox)
    if place is None:
        return NONEXISTENT
    refused = access.check(Operation.MYRIGHTS, {Target.MAILBOX: place.rights},
                           name=place.name, owner=place.owner_text)
    if refused is not None:
        return refused
    if place.info is None:
        return NONEXISTENT
    session.write(b"* MYRIGHTS " + _name(session, place.name) + b" "
                  + encoder.astring(format_with_obsolete(place.rights)) + b"\r\n")
    return ok("MYRIGHTS completed")


# ---- RFC 9208 ------------------------------------------------------------------------------
def quota_root_name(root: QuotaRoot, user: str) -> str:
    if root.kind is QuotaRootKind.SHARED:
        return SHARED_PREFIX + root.name
    if root.name.casefold() == user.casefold():
        return ""
    return OTHER_USERS_PREFIX + root.name


def _quota_root(text: str, user: str) -> QuotaRoot | None:
    if text == "":
        return QuotaRoot(QuotaRootKind.USER, user)
    if text.startswith(SHARED_PREFIX) and "/" not in text[len(SHARED_PREFIX):]:
        return QuotaRoot(QuotaRootKind.SHARED, text[len(SHARED_PREFIX):])
    if text.startswith(OTHER_USERS_PREFIX) and "/" not in text[len(OTHER_USERS_PREFIX):]:
        return QuotaRoot(QuotaRootKind.USER, text[len(OTHER_USERS_PREFIX):])
    return None


def _quota_bytes(name: str, state: QuotaState) -> bytes:
    usage = QuotaUsage(state.storage_used, state.messages_used)
    limits = QuotaLimits(state.storage_limit, state.message_limit)
    items = b" ".join(b"%s %d %d" % (res.encode("ascii"), used, limit)
                      for res, used, limit in quota_resources(usage, limits))
    return b"* QUOTA " + encoder.astring(name) + b" (" + items + b")\r\n"


async def _may_read_root(access: Access, root: QuotaRoot) -> bool:
    """Own account; or some mailbox of that root the user may read."""
    if root.kind is QuotaRootKind.USER and root.name.casefold() == access.user.name.casefold():
        return True
    prefix = (SHARED_PREFIX + root.name if root.kind is QuotaRootKind.SHARED
              else OTHER_USERS_PREFIX + root.name).casefold()
    for name, seen in (await access.visible()).items():
        folded = name.casefold()
        if (folded == prefix or folded.startswith(prefix + "/")) and Right.READ in seen.rights:
            return True
    return False


async def handle_getquota(session: Session, cmd: GetQuota) -> Completion:
    access = session.require_access()
    root = _quota_root(cmd.root, access.user.name)
    if access.acl is None or root is None or not await _may_read_root(access, root):
        return _NO_ROOT
    try:
        state = await access.acl.quotas.get(root)
    except (NoSuchUser, NoSuchSharedMailbox):
        return _NO_ROOT
    session.write(_quota_bytes(quota_root_name(state.root, access.user.name), state))
    return ok("GETQUOTA completed")


async def handle_getquotaroot(session: Session, cmd: GetQuotaRoot) -> Completion:
    access = session.require_access()
    place = await _existing(session, access, cmd.mailbox, Operation.GETQUOTAROOT)
    if not isinstance(place, Place):
        return place
    assert place.info is not None
    line = b"* QUOTAROOT " + _name(session, place.name)
    out = b""
    if access.acl is not None:
        root = await access.acl.quotas.root_of(place.info.id)
        state = await access.acl.quotas.get(root)
        name = quota_root_name(root, access.user.name)
        line += b" " + encoder.astring(name)
        out = _quota_bytes(name, state)
    session.write(line + b"\r\n" + out)
    return ok("GETQUOTAROOT completed")


async def handle_setquota(session: Session, cmd: SetQuota) -> Completion:
    access = session.require_access()
    audit = session.audit
    if not may(access.principal.role, Permission.MANAGE_QUOTAS):
        audit.emit(_denied(session, access, cmd.root))
        return NOPERM
    root = _quota_root(cmd.root, access.user.name)
    if access.acl is None or root is None:
        return _NO_ROOT
    try:
        limits = limits_from_units(cmd.resources)
    except InvalidQuota:
        return _BAD_QUOTA
    try:
        await access.acl.quotas.set_limits(root, limits.storage_bytes, limits.messages)
        state = await access.acl.quotas.get(root)
    except (NoSuchUser, NoSuchSharedMailbox):
        return _NO_ROOT
    audit.emit(AdminAction(at=audit.now(), user=access.user.name, peer=audit.peer,
                           action="quota.set", target=cmd.root or access.user.name))
    session.write(_quota_bytes(quota_root_name(state.root, access.user.name), state))
    return ok("SETQUOTA completed")


def _denied(session: Session, access: Access, root: str) -> AccessDenied:
    audit = session.audit
    return AccessDenied(at=audit.now(), user=access.user.name, peer=audit.peer,
                        session_id=audit.session_id, operation="SETQUOTA", owner="-",
                        mailbox=root, missing="")
