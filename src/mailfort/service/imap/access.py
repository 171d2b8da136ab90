"""The one place where an IMAP handler learns where a mailbox name lives and what the user may
do there (issue #6; docs/decisions/005-acl-model.md).

``Access`` is built once per login (the ``Principal``: user, groups, role) and resolves a wire
name through ``acl.names.resolve`` to a :class:`Place`: the account holding the mailbox, its
local name, its owner and the user's effective rights (``acl.policy.effective_rights``). Every
check goes through :meth:`Access.check`, which asks ``acl.policy.decide`` and turns a refusal
into the fixed reply: HIDDEN answers exactly like a missing mailbox, DENIED is
``NO [NOPERM]`` plus an ``AccessDenied`` audit event.

Without an ``AclStore`` (a backend that keeps none) only the personal namespace exists and the
owner holds every right: the behaviour before issue #6.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from mailfort.acl.names import (
    OTHER_USERS_PREFIX,
    SHARED_PREFIX,
    MailboxPath,
    Namespace,
    parent_name,
    resolve,
)
from mailfort.acl.policy import (
    AclEntry,
    Decision,
    Identifier,
    IdentifierKind,
    Operation,
    Outcome,
    Owner,
    OwnerKind,
    Principal,
    Target,
    decide,
    effective_rights,
)
from mailfort.acl.rights import (
    ALL_RIGHTS,
    NO_RIGHTS,
    InvalidRights,
    Right,
    Rights,
    format_rights,
    parse_rights,
)
from mailfort.acl.roles import DEFAULT_ROLE, UnknownRole, parse_role
from mailfort.audit.events import AccessDenied
from mailfort.imap.codes import ResponseCode
from mailfort.service.imap.errors import TRYCREATE, Completion, no
from mailfort.store.acl import AclRecord, AclStore, GranteeKind
from mailfort.store.api import MailStore
from mailfort.store.errors import InvalidMailboxName
from mailfort.store.types import MailboxId, MailboxInfo, User, UserId

if TYPE_CHECKING:
    from mailfort.service.imap.audit import SessionAudit

__all__ = ["Access", "Place", "Visible", "NOPERM", "NONEXISTENT", "entries_of",
           "SHARED_ROOT", "OTHER_USERS_ROOT"]

NOPERM: Final = no("Permission denied", ResponseCode.NOPERM)
NONEXISTENT: Final = no("Mailbox does not exist", ResponseCode.NONEXISTENT)
SHARED_ROOT: Final = SHARED_PREFIX.rstrip("/")
OTHER_USERS_ROOT: Final = OTHER_USERS_PREFIX.rstrip("/")

_KINDS: Final = {GranteeKind.USER: IdentifierKind.USER, GranteeKind.GROUP: IdentifierKind.GROUP,
                 GranteeKind.ANYONE: IdentifierKind.ANYONE}


def entries_of(records: Iterable[AclRecord]) -> list[AclEntry]:
    """Stored ACL rows -> policy entries (a row the policy cannot read grants nothing)."""
    out: list[AclEntry] = []
    for rec in records:
        try:
            rights = parse_rights(rec.rights)
        except InvalidRights:  # a corrupt row grants nothing
            continue
        out.append(AclEntry(Identifier(_KINDS[rec.grantee.kind], rec.grantee.name.casefold()),
                            rights))
    return out


@dataclass(frozen=True, slots=True)
class Place:
    """A wire mailbox name resolved: where it lives and what the user may do there."""

    name: str  # as the user sees it (canonical: INBOX, namespace prefixes)
    path: MailboxPath
    account: UserId  # the account holding it (the user, another user, or #shared)
    owner: Owner
    info: MailboxInfo | None  # None: no such mailbox (yet)
    rights: Rights

    @property
    def local(self) -> str:
        """The name inside ``account``."""
        return self.path.local

    @property
    def is_personal(self) -> bool:
        return self.path.namespace is Namespace.PERSONAL

    @property
    def owner_text(self) -> str:
        return ("$" + self.owner.name) if self.owner.kind is OwnerKind.GROUP else self.owner.name


@dataclass(frozen=True, slots=True)
class Visible:
    """One mailbox LIST may show: its wire name, the stored mailbox, the user's rights."""

    name: str
    info: MailboxInfo
    rights: Rights


class Access:
    """One logged-in user's view of every namespace. Build with :meth:`at_login`."""

    def __init__(self, store: MailStore, acl: AclStore | None, user: User,
                 principal: Principal, audit: SessionAudit) -> None:
        self.store = store
        self.acl = acl
        self.user = user
        self.principal = principal
        self._audit = audit
        self.selected_rights: Rights = ALL_RIGHTS  # rights on the selected mailbox (at SELECT)
        self.selected_place: Place | None = None
        self._selected_generation: int | None = None  # ACL generation those rights are of

    @classmethod
    async def at_login(cls, store: MailStore, acl: AclStore | None, user: User,
                       audit: SessionAudit) -> Access:
        """The principal is read once here: groups and role for the whole session."""
        if acl is None:
            return cls(store, None, user, Principal(user.name), audit)
        groups = await acl.groups.groups_of(user.id)
        try:
            role = parse_role(await acl.roles.get(user.id))
        except UnknownRole:
            role = DEFAULT_ROLE
        return cls(store, acl, user, Principal(user.name, frozenset(groups), role), audit)

    # ---- resolution -----------------------------------------------------------------------
    async def place(self, name: str, *, strict: bool = False) -> Place | None:
        """Resolve ``name``. None: it names another user or shared tree that does not exist
        (answer as for a missing mailbox). ``strict`` (CREATE, RENAME's new name): an unsafe
        name raises InvalidMailboxName; otherwise it is looked up as a personal name as sent
        (it cannot exist: CREATE refuses such names)."""
        try:
            path = resolve(name, self.user.name)
        except InvalidMailboxName:
            if strict:
                raise
            path = MailboxPath(Namespace.PERSONAL, self.user.name, name)
        if path.namespace is Namespace.PERSONAL:
            info = await self.store.mailboxes.get(self.user.id, path.local)
            return Place(path.visible_name(), path, self.user.id,
                         Owner(OwnerKind.USER, self.user.name), info, ALL_RIGHTS)
        if self.acl is None:
            return None
        if path.namespace is Namespace.OTHER_USERS:
            other = await self.store.users.get(path.owner)
            if other is None or other.id == self.user.id:
                return None  # one's own mailboxes have one name only: the personal one
            account, owner = other.id, Owner(OwnerKind.USER, other.name)
            path = MailboxPath(path.namespace, other.name, path.local)
        else:
            shared = await self.acl.shared.get(path.owner)
            if shared is None:
                return None
            account = await self.acl.shared.holder_id()
            owner = Owner(OwnerKind.GROUP, shared.owner_group)
            path = MailboxPath(path.namespace, shared.name, path.local)
        info = await self.store.mailboxes.get(account, path.local)
        rights = await self._rights(owner, info)
        return Place(path.visible_name(), path, account, owner, info, rights)

    async def _rights(self, owner: Owner, info: MailboxInfo | None) -> Rights:
        entries = [] if info is None or self.acl is None else entries_of(
            await self.acl.acl.get(info.id))
        return effective_rights(self.principal, owner, entries)

    async def refreshed(self, place: Place) -> Place:
        """``place`` with rights read again (after SETACL)."""
        if place.is_personal:
            return place
        rights = await self._rights(place.owner, place.info)
        return Place(place.name, place.path, place.account, place.owner, place.info, rights)

    async def parent_rights(self, place: Place) -> Rights:
        """Rights on the nearest existing ancestor of ``place``: what CREATE and RENAME's
        destination need ``k`` on. The personal root holds every right; the ``Shared/`` and
        ``Other Users/<u>`` roots hold none."""
        if place.is_personal:
            return ALL_RIGHTS
        local = parent_name(place.local)
        while local is not None:
            info = await self.store.mailboxes.get(place.account, local)
            if info is not None:
                return await self._rights(place.owner, info)
            local = parent_name(local)
        return NO_RIGHTS  # a namespace root: shared tops come from `mailfort shared create`

    async def inherit_acl(self, place: Place, created: MailboxInfo) -> None:
        """A mailbox created in another account starts with its nearest existing parent's
        ACL (RFC 4314 §5.1.1), so whoever could see the tree can see the new child."""
        await self.apply_inherited(await self.acl_to_inherit(place, skip=created.id),
                                   (created,))

    async def acl_to_inherit(self, place: Place, *, skip: MailboxId | None = None,
                             ) -> list[AclRecord]:
        """The ACL a new mailbox at ``place`` (in another account or a shared tree) starts
        with: its nearest existing ancestor's. Read it BEFORE creating the missing
        intermediate parents, which must inherit it too (else the new leaf would inherit
        the empty ACL of a parent made a moment ago). Nothing for personal mailboxes."""
        if place.is_personal or self.acl is None:
            return []
        local = parent_name(place.local)
        while local is not None:
            info = await self.store.mailboxes.get(place.account, local)
            if info is not None and info.id != skip:
                return await self.acl.acl.get(info.id)
            local = parent_name(local)
        return []

    async def apply_inherited(self, records: Iterable[AclRecord],
                              boxes: Iterable[MailboxInfo]) -> None:
        """Give each of ``boxes`` (just created) the inherited entries."""
        if self.acl is None:
            return
        entries = list(records)
        for box in boxes:
            for rec in entries:
                await self.acl.acl.set(box.id, rec.grantee, rec.rights)

    # ---- decisions ------------------------------------------------------------------------
    def check(self, operation: Operation, held: Mapping[Target, Rights], *, name: str,
              owner: str, is_target: bool = False) -> Completion | None:
        """None when allowed; otherwise the reply (and, for DENIED, the audit event)."""
        decision = decide(operation, held)
        if decision.is_allowed:
            return None
        return self.refusal(decision, operation, name=name, owner=owner, is_target=is_target)

    def refusal(self, decision: Decision, operation: Operation, *, name: str, owner: str,
                is_target: bool = False) -> Completion:
        if decision.outcome is Outcome.HIDDEN:
            return TRYCREATE if is_target else NONEXISTENT
        audit = self._audit
        audit.emit(AccessDenied(at=audit.now(), user=self.user.name, peer=audit.peer,
                                session_id=audit.session_id, operation=operation.value,
                                owner=owner, mailbox=name,
                                missing=format_rights(decision.missing)))
        return NOPERM

    def check_place(self, operation: Operation, place: Place, *,
                    is_target: bool = False) -> Completion | None:
        return self.check(operation, {Target.MAILBOX: place.rights}, name=place.name,
                          owner=place.owner_text, is_target=is_target)

    def check_selected(self, operation: Operation) -> Completion | None:
        """A check on the selected mailbox (rights read at SELECT)."""
        place = self.selected_place
        if place is None:
            return None
        return self.check(operation, {Target.MAILBOX: self.selected_rights},
                          name=place.name, owner=place.owner_text)

    async def refresh_selected(self) -> None:
        """Read the rights on the selected mailbox again (before a change to it: a grant
        revoked by another session takes effect at once). No query for one's own mailbox."""
        place = self.selected_place
        if place is not None and not place.is_personal:
            fresh = await self.refreshed(place)
            self.selected_place, self.selected_rights = fresh, fresh.rights

    def may_selected(self, right: Right) -> bool:
        return right in self.selected_rights

    # ---- prompt revocation (issue #6 gap 3) -----------------------------------------------
    async def generation(self) -> int | None:
        """The store's ACL generation (None without an AclStore). Read it BEFORE resolving
        the place whose rights it will vouch for, so a change in between is never missed."""
        return None if self.acl is None else await self.acl.acl.generation()

    def selected(self, place: Place | None, generation: int | None) -> None:
        """Record the selected mailbox (or none) and the ACL generation its rights are of."""
        self.selected_place = place
        self.selected_rights = ALL_RIGHTS if place is None else place.rights
        self._selected_generation = generation

    async def revalidate_selected(self) -> None:
        """Before FETCH/SEARCH and before pushing updates: O(1) (an in-memory number) unless
        an ACL entry, group or membership changed since the rights were read; then the
        user's groups and the rights on the selected mailbox are read again, so a revoked
        ``r`` (or a removal from the owning group) takes effect at the next command, not at
        the next SELECT. One's own mailboxes are never re-read: the owner holds every right."""
        place = self.selected_place
        if place is None or place.is_personal or self.acl is None:
            return
        now = await self.acl.acl.generation()
        if now == self._selected_generation:
            return
        self._selected_generation = now
        groups = await self.acl.groups.groups_of(self.user.id)
        self.principal = Principal(self.principal.user, frozenset(groups), self.principal.role)
        fresh = await self.refreshed(place)
        self.selected_place, self.selected_rights = fresh, fresh.rights

    async def may_read_selected(self) -> bool:
        """May the session still be told of changes (EXISTS, FETCH FLAGS) in the selected
        mailbox? Not once ``r`` is revoked: updates would keep leaking what it holds."""
        await self.revalidate_selected()
        return Right.READ in self.selected_rights

    async def check_selected_now(self, operation: Operation) -> Completion | None:
        """:meth:`check_selected` on up-to-date rights. The selected mailbox is known to the
        client, so a refusal is always ``NO [NOPERM]`` (and audited), never "no such
        mailbox", even once ``l`` is gone too."""
        await self.revalidate_selected()
        place = self.selected_place
        if place is None:
            return None
        decision = decide(operation, {Target.MAILBOX: self.selected_rights})
        if decision.is_allowed:
            return None
        denied = Decision(Outcome.DENIED, decision.target, decision.missing)
        return self.refusal(denied, operation, name=place.name, owner=place.owner_text)

    # ---- LIST -----------------------------------------------------------------------------
    async def visible(self) -> dict[str, Visible]:
        """Every mailbox the user may see (``l``), by wire name: their own, those of other
        accounts granted to them (one query), and the shared trees their groups own."""
        out: dict[str, Visible] = {}
        for info in await self.store.mailboxes.list(self.user.id):
            out[info.name] = Visible(info.name, info, ALL_RIGHTS)
        acl = self.acl
        if acl is None:
            return out
        granted = await acl.acl.granted_to(self.user.id, self.principal.groups)
        shared = {s.name.casefold(): s for s in await acl.shared.list()}
        holder = await acl.shared.holder_id() if (granted or shared) else None
        by_box: dict[MailboxId, tuple[MailboxInfo, list[AclRecord]]] = {}
        for info, record in granted:
            by_box.setdefault(info.id, (info, []))[1].append(record)
        mine = {g.casefold() for g in self.principal.groups}
        if holder is not None and any(s.owner_group.casefold() in mine for s in shared.values()):
            for info in await self.store.mailboxes.list(holder):
                top = shared.get(info.name.split("/", 1)[0].casefold())
                if top is not None and top.owner_group.casefold() in mine:
                    by_box.setdefault(info.id, (info, []))
        names: dict[UserId, str | None] = {}
        for info, records in by_box.values():
            if info.user_id == holder:
                top = shared.get(info.name.split("/", 1)[0].casefold())
                if top is None:
                    continue
                owner = Owner(OwnerKind.GROUP, top.owner_group)
                wire = SHARED_PREFIX + info.name
            else:
                if info.user_id not in names:
                    other = await self.store.users.get_by_id(info.user_id)
                    names[info.user_id] = other.name if other is not None else None
                login = names[info.user_id]
                if login is None or info.user_id == self.user.id:
                    continue
                owner = Owner(OwnerKind.USER, login)
                wire = MailboxPath(Namespace.OTHER_USERS, login, info.name).visible_name()
            rights = effective_rights(self.principal, owner, entries_of(records))
            if Right.LOOKUP in rights:
                out[wire] = Visible(wire, info, rights)
        return out
