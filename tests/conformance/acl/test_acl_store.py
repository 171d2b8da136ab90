"""One suite over ``store.acl``: groups, roles, ACL entries, shared mailboxes, quota limits."""

from __future__ import annotations

import pytest
from acl_backend import Backend

from mailfort.store.acl import (
    Grantee,
    GranteeKind,
    GroupExists,
    NoSuchGroup,
    NoSuchSharedMailbox,
    QuotaRoot,
    QuotaRootKind,
    SharedMailboxExists,
)
from mailfort.store.errors import InvalidMailboxName, NoSuchMailbox, NoSuchUser, StoreError
from mailfort.store.types import UserId

BOB = Grantee(GranteeKind.USER, "bob")
SALES = Grantee(GranteeKind.GROUP, "sales")
ANYONE = Grantee(GranteeKind.ANYONE, "anyone")


async def test_groups_and_members(backend: Backend) -> None:
    g = backend.acl.groups
    alice = await backend.create_user("alice")
    bob = await backend.create_user("bob")
    await g.create("Sales")
    with pytest.raises(GroupExists):
        await g.create("sales")
    assert await g.add_member("sales", alice) is True
    assert await g.add_member("SALES", alice) is False
    assert await g.add_member("sales", bob) is True
    assert await g.members("sales") == ["alice", "bob"]
    assert await g.groups_of(alice) == {"Sales"}
    assert await g.remove_member("sales", bob) is True
    assert await g.remove_member("sales", bob) is False
    assert [x.name for x in await g.list()] == ["Sales"]
    with pytest.raises(NoSuchGroup):
        await g.add_member("nope", alice)
    with pytest.raises(NoSuchUser):
        await g.add_member("sales", UserId(999_999))
    await g.delete("sales")
    assert await g.get("sales") is None
    assert await g.groups_of(alice) == frozenset()
    with pytest.raises(NoSuchGroup):
        await g.delete("sales")


async def test_deleted_user_leaves_groups_and_acls(backend: Backend) -> None:
    alice = await backend.create_user("alice")
    bob = await backend.create_user("bob")
    box = await backend.create_mailbox(alice, "Projects")
    await backend.acl.groups.create("sales")
    await backend.acl.groups.add_member("sales", bob)
    await backend.acl.acl.set(box, BOB, "lr")
    await backend.delete_user("bob")
    assert await backend.acl.groups.members("sales") == []
    assert await backend.acl.acl.get(box) == []
    # A new "bob" inherits nothing from the old one.
    bob2 = await backend.create_user("bob")
    assert await backend.acl.acl.granted_to(bob2, frozenset()) == []
    assert await backend.acl.groups.groups_of(bob2) == frozenset()


async def test_roles(backend: Backend) -> None:
    alice = await backend.create_user("alice")
    await backend.create_user("bob")
    assert await backend.acl.roles.get(alice) == "user"
    await backend.acl.roles.set(alice, "admin")
    assert await backend.acl.roles.get(alice) == "admin"
    assert await backend.acl.roles.with_role("admin") == ["alice"]
    assert await backend.acl.roles.with_role("user") == ["bob"]
    with pytest.raises(StoreError):
        await backend.acl.roles.set(alice, "root")
    with pytest.raises(NoSuchUser):
        await backend.acl.roles.set(UserId(999_999), "admin")


async def test_acl_entries(backend: Backend) -> None:
    acl = backend.acl.acl
    alice = await backend.create_user("alice")
    bob = await backend.create_user("bob")
    await backend.acl.groups.create("sales")
    box = await backend.create_mailbox(alice, "Projects")
    await acl.set(box, BOB, "lr")
    await acl.set(box, SALES, "lrs")
    await acl.set(box, ANYONE, "l")
    await acl.set(box, Grantee(GranteeKind.USER, "BOB"), "lrw")  # replaces, case-insensitive
    got = {(e.grantee.kind, e.grantee.name.casefold()): e.rights for e in await acl.get(box)}
    assert got == {(GranteeKind.USER, "bob"): "lrw", (GranteeKind.GROUP, "sales"): "lrs",
                   (GranteeKind.ANYONE, "anyone"): "l"}
    assert await acl.delete(box, SALES) is True
    assert await acl.delete(box, SALES) is False
    assert await acl.delete(box, Grantee(GranteeKind.USER, "ghost")) is False
    await acl.set(box, ANYONE, "")  # empty rights delete
    assert [e.grantee.kind for e in await acl.get(box)] == [GranteeKind.USER]
    with pytest.raises(NoSuchUser):
        await acl.set(box, Grantee(GranteeKind.USER, "ghost"), "l")
    with pytest.raises(NoSuchGroup):
        await acl.set(box, Grantee(GranteeKind.GROUP, "ghosts"), "l")
    await backend.delete_mailbox(alice, "Projects")
    with pytest.raises(NoSuchMailbox):
        await acl.set(box, BOB, "l")
    # Re-created under the same name: a new mailbox, no inherited entries.
    again = await backend.create_mailbox(alice, "Projects")
    assert await acl.get(again) == []
    assert await acl.granted_to(bob, frozenset()) == []


async def test_granted_to_lists_other_accounts_only(backend: Backend) -> None:
    alice = await backend.create_user("alice")
    bob = await backend.create_user("bob")
    carol = await backend.create_user("carol")
    await backend.acl.groups.create("sales")
    a1 = await backend.create_mailbox(alice, "ForBob")
    a2 = await backend.create_mailbox(alice, "ForSales")
    a3 = await backend.create_mailbox(alice, "Public")
    c1 = await backend.create_mailbox(carol, "ForDave")
    b1 = await backend.create_mailbox(bob, "Own")
    await backend.acl.acl.set(a1, BOB, "lr")
    await backend.acl.acl.set(a2, SALES, "l")
    await backend.acl.acl.set(a3, ANYONE, "l")
    await backend.acl.acl.set(b1, ANYONE, "l")  # bob's own: not listed for bob
    await backend.create_user("dave")
    await backend.acl.acl.set(c1, Grantee(GranteeKind.USER, "dave"), "lr")
    got = {(m.id, r.grantee.kind) for m, r in await backend.acl.acl.granted_to(
        bob, frozenset({"Sales"}))}
    assert got == {(a1, GranteeKind.USER), (a2, GranteeKind.GROUP), (a3, GranteeKind.ANYONE)}
    ids = {m.id for m, _ in await backend.acl.acl.granted_to(bob, frozenset())}
    assert ids == {a1, a3}


async def test_shared_mailboxes(backend: Backend) -> None:
    sh = backend.acl.shared
    await backend.acl.groups.create("sales")
    created = await sh.create("sales", "sales")
    assert created.owner_group == "sales" and created.mailbox.name == "sales"
    assert created.mailbox.user_id == await sh.holder_id()
    with pytest.raises(SharedMailboxExists):
        await sh.create("sales", "sales")
    with pytest.raises(NoSuchGroup):
        await sh.create("support", "nobody")
    for bad in ("a/b", "..", ""):
        with pytest.raises(InvalidMailboxName):
            await sh.create(bad, "sales")
    got = await sh.get("sales")
    assert got is not None and got.mailbox.id == created.mailbox.id
    assert [s.name for s in await sh.list()] == ["sales"]
    with pytest.raises(StoreError):
        await backend.acl.groups.delete("sales")  # still owns a shared mailbox
    child = await backend.create_mailbox(await sh.holder_id(), "sales/2024")
    assert (await backend.acl.quotas.root_of(child)) == QuotaRoot(QuotaRootKind.SHARED, "sales")
    await sh.delete("sales")
    assert await sh.get("sales") is None
    with pytest.raises(NoSuchSharedMailbox):
        await sh.delete("sales")
    await backend.acl.groups.delete("sales")


async def test_quota_limits(backend: Backend) -> None:
    q = backend.acl.quotas
    alice = await backend.create_user("alice")
    box = await backend.create_mailbox(alice, "Projects")
    root = QuotaRoot(QuotaRootKind.USER, "alice")
    state = await q.get(root)
    assert (state.storage_limit, state.message_limit) == (None, None)
    assert (state.storage_used, state.messages_used) == (0, 0)
    await q.set_limits(root, 1024**3, 100_000)
    state = await q.get(root)
    assert (state.storage_limit, state.message_limit) == (1024**3, 100_000)
    await q.set_limits(root, None, 5)
    assert (await q.get(root)).storage_limit is None
    assert await q.root_of(box) == root
    with pytest.raises(StoreError):
        await q.set_limits(root, -1, None)
    with pytest.raises(NoSuchUser):
        await q.get(QuotaRoot(QuotaRootKind.USER, "ghost"))
    with pytest.raises(NoSuchSharedMailbox):
        await q.set_limits(QuotaRoot(QuotaRootKind.SHARED, "ghost"), 1, 1)
    await backend.acl.groups.create("sales")
    await backend.acl.shared.create("sales", "sales")
    shared = QuotaRoot(QuotaRootKind.SHARED, "sales")
    await q.set_limits(shared, 10, 2)
    assert (await q.get(shared)).message_limit == 2
    with pytest.raises(NoSuchUser):  # the holder is no user to quota
        await q.get(QuotaRoot(QuotaRootKind.USER, "#shared"))


async def test_generation_grows_on_every_acl_or_group_change(backend: Backend) -> None:
    """What a selected session compares before each FETCH/SEARCH (revocation at once)."""
    acl = backend.acl.acl
    groups = backend.acl.groups
    alice = await backend.create_user("alice")
    bob = await backend.create_user("bob")
    box = await backend.create_mailbox(alice, "Projects")
    seen = [await acl.generation()]
    assert await acl.generation() == seen[-1]  # nothing changed: the same number

    async def changed() -> None:
        now = await acl.generation()
        assert now > seen[-1]
        seen.append(now)

    await acl.set(box, BOB, "lr")
    await changed()
    await acl.set(box, BOB, "l")  # a narrower grant is a change too
    await changed()
    assert await acl.delete(box, BOB) is True
    await changed()
    await groups.create("sales")
    await groups.add_member("sales", bob)
    await changed()
    await groups.remove_member("sales", bob)
    await changed()
    await groups.delete("sales")
    await changed()
    # A refused change changes nothing.
    with pytest.raises(NoSuchUser):
        await acl.set(box, Grantee(GranteeKind.USER, "ghost"), "l")
    assert await acl.generation() == seen[-1]
