"""Persistence of least-privilege state: groups, roles, ACL entries, shared mailboxes, quotas.

Domain terms only (no wire types, no ``acl`` imports: ``store`` sits below ``acl``): rights are
stored as RFC 4314 rights strings and checked by ``acl.policy``; roles as their names.
Backends: ``store.sqlite.acl`` (same database and writer thread as the mail store).

* Groups have members (users by id; a deleted user leaves every group and every ACL).
* ACL entries belong to a mailbox id: RENAME keeps them, DELETE drops them, and a mailbox
  re-created under the same name starts with none. A grantee is a user (by id), a group, or
  ``anyone``; negative rights are never stored.
* Shared mailboxes live in the internal, disabled account :data:`SHARED_HOLDER` (not a valid
  login name): ``Shared/sales/2024`` is that account's mailbox ``sales/2024``. Each top-level
  shared mailbox records its owning group and is its own quota root.
* Quota usage is exact: the backend maintains it in the same transaction as every message
  insert and delete, and refuses (:class:`OverQuota`) an insert that would pass a limit.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from enum import Enum
from typing import Final, Protocol

from mailfort.store.errors import StoreError
from mailfort.store.types import MailboxId, MailboxInfo, UserId

__all__ = ["SHARED_HOLDER", "GENERATION_STALE_S", "GranteeKind", "Grantee", "AclRecord",
           "Group", "SharedMailbox",
           "QuotaRootKind", "QuotaRoot", "QuotaState", "NoSuchGroup", "GroupExists",
           "NoSuchSharedMailbox", "SharedMailboxExists", "OverQuota", "Groups", "Roles",
           "AclEntries", "SharedMailboxes", "Quotas", "AclStore"]

# The internal account that holds shared mailboxes. "#" is outside the user-name alphabet
# (auth.usernames), so nobody can create, or log in as, this account; it is also disabled.
SHARED_HOLDER: Final = "#shared"

# How stale AclEntries.generation may be for changes made by ANOTHER process on the same
# database (``mailfort acl set`` while the server runs). Changes in the process are seen at once.
GENERATION_STALE_S: Final = 1.0


class NoSuchGroup(StoreError):
    pass


class GroupExists(StoreError):
    pass


class NoSuchSharedMailbox(StoreError):
    pass


class SharedMailboxExists(StoreError):
    pass


class OverQuota(StoreError):
    """An APPEND/COPY/MOVE would take a quota root past a limit. ``resource`` is "STORAGE"
    or "MESSAGE". Nothing was written."""

    def __init__(self, resource: str) -> None:
        super().__init__(resource)
        self.resource = resource


class GranteeKind(Enum):
    USER = "user"
    GROUP = "group"
    ANYONE = "anyone"


@dataclass(frozen=True, slots=True)
class Grantee:
    """``name``: the user's login name or the group's name (no ``$``); "anyone" for ANYONE.
    Names compare case-insensitively."""

    kind: GranteeKind
    name: str


@dataclass(frozen=True, slots=True)
class AclRecord:
    mailbox_id: MailboxId
    grantee: Grantee
    rights: str  # canonical RFC 4314 rights string, never empty


@dataclass(frozen=True, slots=True)
class Group:
    name: str  # as created; look-ups are case-insensitive
    created_at: float


@dataclass(frozen=True, slots=True)
class SharedMailbox:
    name: str  # the top-level name below "Shared/", e.g. "sales"
    owner_group: str
    mailbox: MailboxInfo  # its root mailbox, in the SHARED_HOLDER account


class QuotaRootKind(Enum):
    USER = "user"  # every mailbox of one account
    SHARED = "shared"  # one shared mailbox tree


@dataclass(frozen=True, slots=True)
class QuotaRoot:
    kind: QuotaRootKind
    name: str  # the user's login name, or the shared mailbox's top-level name


@dataclass(frozen=True, slots=True)
class QuotaState:
    root: QuotaRoot
    storage_limit: int | None  # bytes; None: unlimited
    message_limit: int | None
    storage_used: int  # bytes (sum of RFC822.SIZE)
    messages_used: int


class Groups(Protocol):
    async def create(self, name: str) -> Group:
        """GroupExists."""
        ...

    async def delete(self, name: str) -> None:
        """Remove the group, its memberships and every ACL entry naming it. NoSuchGroup;
        StoreError if it still owns a shared mailbox."""
        ...

    async def get(self, name: str) -> Group | None: ...
    async def list(self) -> builtins.list[Group]: ...
    async def add_member(self, group: str, user_id: UserId) -> bool:
        """False if already a member. NoSuchGroup, NoSuchUser."""
        ...

    async def remove_member(self, group: str, user_id: UserId) -> bool:
        """False if not a member. NoSuchGroup."""
        ...

    async def members(self, group: str) -> builtins.list[str]:
        """Login names, sorted. NoSuchGroup."""
        ...

    async def groups_of(self, user_id: UserId) -> frozenset[str]:
        """Names of the groups the user belongs to (as created)."""
        ...


class Roles(Protocol):
    async def get(self, user_id: UserId) -> str:
        """The user's role name; "user" when none was set."""
        ...

    async def set(self, user_id: UserId, role: str) -> None:
        """NoSuchUser."""
        ...

    async def with_role(self, role: str) -> builtins.list[str]:
        """Login names holding ``role``, sorted."""
        ...


class AclEntries(Protocol):
    async def get(self, mailbox_id: MailboxId) -> builtins.list[AclRecord]:
        """The mailbox's entries, ordered by kind then name."""
        ...

    async def set(self, mailbox_id: MailboxId, grantee: Grantee, rights: str) -> None:
        """Insert or replace one entry; an empty ``rights`` deletes it. NoSuchMailbox,
        NoSuchUser, NoSuchGroup."""
        ...

    async def delete(self, mailbox_id: MailboxId, grantee: Grantee) -> bool:
        """False when there was no such entry."""
        ...

    async def granted_to(self, user_id: UserId, groups: frozenset[str],
                         ) -> builtins.list[tuple[MailboxInfo, AclRecord]]:
        """Every entry naming this user, one of these groups, or anyone, on mailboxes of
        OTHER accounts (and the shared holder): what LIST needs to show ``Other Users/`` and
        ``Shared/`` without scanning every mailbox. One query."""
        ...

    async def generation(self) -> int:
        """A number that grows whenever an ACL entry, a group membership or a group
        changes: what a selected session compares (O(1)) before each FETCH/SEARCH to learn
        that its rights must be read again. Answered from memory; a change made through
        another store on the same database (the CLI) is seen within
        :data:`GENERATION_STALE_S`, when the backend reads its counter again."""
        ...


class SharedMailboxes(Protocol):
    async def create(self, name: str, owner_group: str) -> SharedMailbox:
        """Create the shared tree's root mailbox. SharedMailboxExists, NoSuchGroup,
        InvalidMailboxName (the name must be one level)."""
        ...

    async def get(self, name: str) -> SharedMailbox | None: ...
    async def list(self) -> builtins.list[SharedMailbox]: ...
    async def delete(self, name: str) -> None:
        """Remove the shared mailbox, its children and their messages. NoSuchSharedMailbox."""
        ...

    async def holder_id(self) -> UserId:
        """The SHARED_HOLDER account's id, created (disabled) on first use."""
        ...


class Quotas(Protocol):
    async def set_limits(self, root: QuotaRoot, storage_limit: int | None,
                         message_limit: int | None) -> None:
        """Replace the root's limits (None: unlimited). NoSuchUser, NoSuchSharedMailbox."""
        ...

    async def get(self, root: QuotaRoot) -> QuotaState:
        """Limits and exact usage. NoSuchUser, NoSuchSharedMailbox."""
        ...

    async def root_of(self, mailbox_id: MailboxId) -> QuotaRoot:
        """The quota root a mailbox counts toward. NoSuchMailbox."""
        ...


class AclStore(Protocol):
    @property
    def groups(self) -> Groups: ...
    @property
    def roles(self) -> Roles: ...
    @property
    def acl(self) -> AclEntries: ...
    @property
    def shared(self) -> SharedMailboxes: ...
    @property
    def quotas(self) -> Quotas: ...
