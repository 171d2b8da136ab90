"""The backends of the ACL conformance suite: an in-memory fake of ``store.acl`` (what unit
tests of the service can use) and the SQLite store, behind one small ``Backend`` value that
also knows how to make the users and mailboxes the tests need."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from mailfort.store.acl import (
    SHARED_HOLDER,
    AclRecord,
    AclStore,
    Grantee,
    GranteeKind,
    Group,
    GroupExists,
    NoSuchGroup,
    NoSuchSharedMailbox,
    QuotaRoot,
    QuotaRootKind,
    QuotaState,
    SharedMailbox,
    SharedMailboxExists,
)
from mailfort.store.errors import (
    InvalidMailboxName,
    MailboxExists,
    NoSuchMailbox,
    NoSuchUser,
    StoreError,
)
from mailfort.store.types import MailboxId, MailboxInfo, UserId

__all__ = ["Backend", "MemoryAcl"]


@dataclass(frozen=True, slots=True)
class Backend:
    name: str
    acl: AclStore
    create_user: Callable[[str], Awaitable[UserId]]
    delete_user: Callable[[str], Awaitable[None]]
    create_mailbox: Callable[[UserId, str], Awaitable[MailboxId]]
    delete_mailbox: Callable[[UserId, str], Awaitable[None]]


class _World:
    def __init__(self) -> None:
        self.users: dict[int, str] = {}
        self.mailboxes: dict[int, tuple[int, str]] = {}
        self.groups: dict[str, tuple[int, Group]] = {}
        self.members: set[tuple[int, int]] = set()
        self.roles: dict[int, str] = {}
        self.acl: dict[tuple[int, str, int], str] = {}
        self.shared: dict[str, tuple[int, int | None, int | None]] = {}  # name -> gid, limits
        self.user_quotas: dict[int, tuple[int | None, int | None]] = {}
        self.next_id = 1
        self.generation = 0  # AclEntries.generation: grows on every ACL or group change

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def user_id(self, name: str) -> int:
        for uid, n in self.users.items():
            if n.casefold() == name.casefold() and n != SHARED_HOLDER:
                return uid
        raise NoSuchUser(name)

    def group(self, name: str) -> tuple[int, Group]:
        try:
            return self.groups[name.casefold()]
        except KeyError:
            raise NoSuchGroup(name) from None

    def holder(self) -> int:
        for uid, n in self.users.items():
            if n == SHARED_HOLDER:
                return uid
        uid = self.new_id()
        self.users[uid] = SHARED_HOLDER
        return uid

    def info(self, mid: int) -> MailboxInfo:
        user_id, name = self.mailboxes[mid]
        return MailboxInfo(MailboxId(mid), UserId(user_id), name, 1, 1, 1, None)

    def create_mailbox(self, user_id: int, name: str) -> int:
        if user_id not in self.users:
            raise NoSuchUser(str(user_id))
        if (user_id, name) in self.mailboxes.values():
            raise MailboxExists(name)
        mid = self.new_id()
        self.mailboxes[mid] = (user_id, name)
        return mid

    def drop_mailbox(self, mid: int) -> None:
        del self.mailboxes[mid]
        for key in [k for k in self.acl if k[0] == mid]:
            del self.acl[key]

    def drop_user(self, uid: int) -> None:
        for mid in [m for m, (u, _) in self.mailboxes.items() if u == uid]:
            self.drop_mailbox(mid)
        del self.users[uid]
        self.members = {(g, u) for g, u in self.members if u != uid}
        self.roles.pop(uid, None)
        self.user_quotas.pop(uid, None)
        for key in [k for k in self.acl if k[1] == "user" and k[2] == uid]:
            del self.acl[key]


class _Groups:
    def __init__(self, w: _World) -> None:
        self.w = w

    async def create(self, name: str) -> Group:
        if name.casefold() in self.w.groups:
            raise GroupExists(name)
        g = Group(name, 0.0)
        self.w.groups[name.casefold()] = (self.w.new_id(), g)
        return g

    async def delete(self, name: str) -> None:
        gid, _ = self.w.group(name)
        if any(g == gid for g, _, _ in self.w.shared.values()):
            raise StoreError("the group owns a shared mailbox")
        del self.w.groups[name.casefold()]
        self.w.generation += 1
        self.w.members = {(g, u) for g, u in self.w.members if g != gid}
        for key in [k for k in self.w.acl if k[1] == "group" and k[2] == gid]:
            del self.w.acl[key]

    async def get(self, name: str) -> Group | None:
        found = self.w.groups.get(name.casefold())
        return None if found is None else found[1]

    async def add_member(self, group: str, user_id: UserId) -> bool:
        gid, _ = self.w.group(group)
        if user_id not in self.w.users:
            raise NoSuchUser(str(user_id))
        fresh = (gid, user_id) not in self.w.members
        self.w.members.add((gid, user_id))
        self.w.generation += 1
        return fresh

    async def remove_member(self, group: str, user_id: UserId) -> bool:
        gid, _ = self.w.group(group)
        present = (gid, user_id) in self.w.members
        self.w.members.discard((gid, user_id))
        self.w.generation += 1
        return present

    async def members(self, group: str) -> list[str]:
        gid, _ = self.w.group(group)
        return sorted((self.w.users[u] for g, u in self.w.members if g == gid),
                      key=str.casefold)

    async def groups_of(self, user_id: UserId) -> frozenset[str]:
        names = {gid: g.name for gid, g in self.w.groups.values()}
        return frozenset(names[g] for g, u in self.w.members if u == user_id)

    async def list(self) -> list[Group]:
        return [g for _, (_, g) in sorted(self.w.groups.items())]


class _Roles:
    def __init__(self, w: _World) -> None:
        self.w = w

    async def get(self, user_id: UserId) -> str:
        return self.w.roles.get(user_id, "user")

    async def set(self, user_id: UserId, role: str) -> None:
        if role not in ("admin", "auditor", "user"):
            raise StoreError("unknown role")
        if user_id not in self.w.users:
            raise NoSuchUser(str(user_id))
        self.w.roles[user_id] = role

    async def with_role(self, role: str) -> list[str]:
        return sorted((n for u, n in self.w.users.items()
                       if n != SHARED_HOLDER and self.w.roles.get(u, "user") == role),
                      key=str.casefold)


class _Entries:
    def __init__(self, w: _World) -> None:
        self.w = w

    def _key(self, grantee: Grantee) -> tuple[str, int]:
        if grantee.kind is GranteeKind.USER:
            return "user", self.w.user_id(grantee.name)
        if grantee.kind is GranteeKind.GROUP:
            return "group", self.w.group(grantee.name)[0]
        return "anyone", 0

    def _record(self, key: tuple[int, str, int], rights: str) -> AclRecord:
        mid, kind, ident = key
        if kind == "user":
            name = self.w.users[ident]
        elif kind == "group":
            name = next(g.name for gid, g in self.w.groups.values() if gid == ident)
        else:
            name = "anyone"
        return AclRecord(MailboxId(mid), Grantee(GranteeKind(kind), name), rights)

    async def get(self, mailbox_id: MailboxId) -> list[AclRecord]:
        out = [self._record(k, r) for k, r in self.w.acl.items() if k[0] == mailbox_id]
        return sorted(out, key=lambda e: (e.grantee.kind.value, e.grantee.name.casefold()))

    async def set(self, mailbox_id: MailboxId, grantee: Grantee, rights: str) -> None:
        if mailbox_id not in self.w.mailboxes:
            raise NoSuchMailbox(str(mailbox_id))
        kind, ident = self._key(grantee)
        self.w.generation += 1
        if rights:
            self.w.acl[(mailbox_id, kind, ident)] = rights
        else:
            self.w.acl.pop((mailbox_id, kind, ident), None)

    async def delete(self, mailbox_id: MailboxId, grantee: Grantee) -> bool:
        try:
            kind, ident = self._key(grantee)
        except (NoSuchUser, NoSuchGroup):
            return False
        self.w.generation += 1
        return self.w.acl.pop((mailbox_id, kind, ident), None) is not None

    async def generation(self) -> int:
        return self.w.generation

    async def granted_to(self, user_id: UserId, groups: frozenset[str],
                         ) -> list[tuple[MailboxInfo, AclRecord]]:
        gids = {self.w.groups[g.casefold()][0] for g in groups if g.casefold() in self.w.groups}
        out = []
        for key, rights in self.w.acl.items():
            mid, kind, ident = key
            if self.w.mailboxes[mid][0] == user_id:
                continue
            if ((kind == "user" and ident == user_id) or kind == "anyone"
                    or (kind == "group" and ident in gids)):
                out.append((self.w.info(mid), self._record(key, rights)))
        return sorted(out, key=lambda p: (p[0].user_id, p[0].name))


class _Shared:
    def __init__(self, w: _World) -> None:
        self.w = w

    async def create(self, name: str, owner_group: str) -> SharedMailbox:
        if not name or "/" in name or name in (".", ".."):
            raise InvalidMailboxName("a shared mailbox name is one level")
        gid, group = self.w.group(owner_group)
        if name in self.w.shared:
            raise SharedMailboxExists(name)
        mid = self.w.create_mailbox(self.w.holder(), name)
        self.w.shared[name] = (gid, None, None)
        return SharedMailbox(name, group.name, self.w.info(mid))

    async def get(self, name: str) -> SharedMailbox | None:
        if name not in self.w.shared:
            return None
        gid = self.w.shared[name][0]
        group = next(g for i, g in self.w.groups.values() if i == gid)
        holder = self.w.holder()
        mid = next(m for m, v in self.w.mailboxes.items() if v == (holder, name))
        return SharedMailbox(name, group.name, self.w.info(mid))

    async def delete(self, name: str) -> None:
        if name not in self.w.shared:
            raise NoSuchSharedMailbox(name)
        holder = self.w.holder()
        for mid in [m for m, (u, n) in self.w.mailboxes.items()
                    if u == holder and (n == name or n.startswith(name + "/"))]:
            self.w.drop_mailbox(mid)
        del self.w.shared[name]

    async def holder_id(self) -> UserId:
        return UserId(self.w.holder())

    async def list(self) -> list[SharedMailbox]:
        out = [await self.get(n) for n in sorted(self.w.shared)]
        return [s for s in out if s is not None]


class _Quotas:
    def __init__(self, w: _World) -> None:
        self.w = w

    async def set_limits(self, root: QuotaRoot, storage_limit: int | None,
                         message_limit: int | None) -> None:
        if any(v is not None and v < 0 for v in (storage_limit, message_limit)):
            raise StoreError("a quota limit cannot be negative")
        if root.kind is QuotaRootKind.USER:
            self.w.user_quotas[self.w.user_id(root.name)] = (storage_limit, message_limit)
        elif root.name in self.w.shared:
            gid = self.w.shared[root.name][0]
            self.w.shared[root.name] = (gid, storage_limit, message_limit)
        else:
            raise NoSuchSharedMailbox(root.name)

    async def get(self, root: QuotaRoot) -> QuotaState:
        if root.kind is QuotaRootKind.USER:
            s, m = self.w.user_quotas.get(self.w.user_id(root.name), (None, None))
        elif root.name in self.w.shared:
            _, s, m = self.w.shared[root.name]
        else:
            raise NoSuchSharedMailbox(root.name)
        return QuotaState(root, s, m, 0, 0)  # the fake holds no messages

    async def root_of(self, mailbox_id: MailboxId) -> QuotaRoot:
        if mailbox_id not in self.w.mailboxes:
            raise NoSuchMailbox(str(mailbox_id))
        user_id, name = self.w.mailboxes[mailbox_id]
        if self.w.users[user_id] == SHARED_HOLDER:
            return QuotaRoot(QuotaRootKind.SHARED, name.split("/", 1)[0])
        return QuotaRoot(QuotaRootKind.USER, self.w.users[user_id])


class MemoryAcl:
    """The fake ``store.acl.AclStore`` plus the user/mailbox operations tests need."""

    def __init__(self) -> None:
        self.world = _World()
        self.groups = _Groups(self.world)
        self.roles = _Roles(self.world)
        self.acl = _Entries(self.world)
        self.shared = _Shared(self.world)
        self.quotas = _Quotas(self.world)

    def backend(self) -> Backend:
        w = self.world

        async def create_user(name: str) -> UserId:
            if any(n.casefold() == name.casefold() for n in w.users.values()):
                raise StoreError("exists")
            uid = w.new_id()
            w.users[uid] = name
            return UserId(uid)

        async def delete_user(name: str) -> None:
            w.drop_user(w.user_id(name))

        async def create_mailbox(user_id: UserId, name: str) -> MailboxId:
            return MailboxId(w.create_mailbox(user_id, name))

        async def delete_mailbox(user_id: UserId, name: str) -> None:
            mid = next((m for m, v in w.mailboxes.items() if v == (user_id, name)), None)
            if mid is None:
                raise NoSuchMailbox(name)
            w.drop_mailbox(mid)

        return Backend("memory", self, create_user, delete_user, create_mailbox, delete_mailbox)


