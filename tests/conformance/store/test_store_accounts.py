"""Users, mailboxes and subscriptions, against store.api only."""

from __future__ import annotations

import datetime as dt

import pytest

from mailfort.mail.message import ParsedMessage, Part
from mailfort.store.api import DEFAULT_MAILBOXES, MailStore
from mailfort.store.errors import (
    InboxCannotBeDeleted,
    MailboxExists,
    NoSuchMailbox,
    NoSuchUser,
    UserExists,
)
from mailfort.store.types import User

HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"  # noqa: S105 (a fake)


def sample(subject: str = "hello") -> tuple[bytes, ParsedMessage]:
    raw = (f"From: a@example.com\r\nSubject: {subject}\r\n\r\nbody of {subject}\r\n").encode()
    body_start = raw.index(b"\r\n\r\n") + 4
    return raw, ParsedMessage(
        size=len(raw),
        envelope=b'(NIL "' + subject.encode() + b'" NIL NIL NIL NIL NIL NIL NIL NIL)',
        body=b'("TEXT" "PLAIN" NIL NIL NIL "7BIT" 10 1)',
        bodystructure=b'("TEXT" "PLAIN" NIL NIL NIL "7BIT" 10 1 NIL NIL NIL NIL)',
        root=Part(0, body_start, len(raw), "text/plain", None, "7bit"), sent_date=None,
        header_index=(("from", "a@example.com"), ("subject", subject)),
        body_text=f"body of {subject}\r\n")


WHEN = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone(dt.timedelta(hours=2)))


async def new_user(store: MailStore, name: str = "alice@example.com") -> User:
    return await store.users.create(name, HASH)


async def test_user_lookup_is_case_insensitive(store: MailStore) -> None:
    alice = await new_user(store, "Alice@Example.com")
    assert alice.name == "Alice@Example.com"
    assert alice.password_hash == HASH
    assert alice.created_at.tzinfo is not None
    assert await store.users.get("alice@example.COM") == alice
    assert await store.users.get_by_id(alice.id) == alice
    assert await store.users.get("bob@example.com") is None
    with pytest.raises(UserExists):
        await store.users.create("ALICE@example.com", HASH)
    bob = await new_user(store, "bob@example.com")
    assert [u.name for u in await store.users.list()] == [alice.name, bob.name]


async def test_set_password_hash(store: MailStore) -> None:
    alice = await new_user(store)
    await store.users.set_password_hash(alice.id, "$argon2id$new")  # noqa: S106
    user = await store.users.get(alice.name)
    assert user is not None and user.password_hash == "$argon2id$new"  # noqa: S105


async def test_delete_user_removes_mailboxes(store: MailStore) -> None:
    alice = await new_user(store)
    inbox = await store.mailboxes.get(alice.id, "INBOX")
    assert inbox is not None
    raw, parsed = sample()
    await store.messages.append(inbox.id, raw, parsed, frozenset(), WHEN)
    await store.users.delete("ALICE@example.com")
    assert await store.users.get(alice.name) is None
    assert await store.mailboxes.list(alice.id) == []
    with pytest.raises(NoSuchUser):
        await store.users.delete(alice.name)
    # The name is free again, with fresh mailboxes.
    again = await new_user(store)
    inbox2 = await store.mailboxes.get(again.id, "INBOX")
    assert inbox2 is not None and inbox2.id != inbox.id
    assert (await store.messages.snapshot(inbox2.id)).uids == []


async def test_new_user_gets_default_mailboxes(store: MailStore) -> None:
    alice = await new_user(store)
    boxes = {b.name: b for b in await store.mailboxes.list(alice.id)}
    assert {name: use for name, use in DEFAULT_MAILBOXES} == {
        name: b.special_use for name, b in boxes.items()}
    assert len({b.uidvalidity for b in boxes.values()}) == len(boxes)
    for box in boxes.values():
        assert box.user_id == alice.id and box.uidnext == 1 and box.uidvalidity > 0


async def test_create_and_get_mailbox(store: MailStore) -> None:
    alice = await new_user(store)
    box = await store.mailboxes.create(alice.id, "Projects/2024", "\\Flagged")
    assert box.name == "Projects/2024" and box.special_use == "\\Flagged"
    assert await store.mailboxes.get(alice.id, "Projects/2024") == box
    assert await store.mailboxes.get(alice.id, "projects/2024") is None  # only INBOX folds
    with pytest.raises(MailboxExists):
        await store.mailboxes.create(alice.id, "Projects/2024")
    with pytest.raises(MailboxExists):
        await store.mailboxes.create(alice.id, "inbox")
    inbox = await store.mailboxes.get(alice.id, "InBoX")
    assert inbox is not None and inbox.name == "INBOX"


async def test_mailboxes_are_per_user(store: MailStore) -> None:
    alice = await new_user(store)
    bob = await new_user(store, "bob@example.com")
    await store.mailboxes.create(alice.id, "Secret")
    assert await store.mailboxes.get(bob.id, "Secret") is None
    await store.mailboxes.create(bob.id, "Secret")


async def test_rename_moves_children_and_keeps_uidvalidity(store: MailStore) -> None:
    alice = await new_user(store)
    parent = await store.mailboxes.create(alice.id, "Work")
    child = await store.mailboxes.create(alice.id, "Work/Clients")
    grandchild = await store.mailboxes.create(alice.id, "Work/Clients/Acme")
    other = await store.mailboxes.create(alice.id, "Workshop")
    await store.mailboxes.rename(alice.id, "Work", "Job")
    names = {b.name: b for b in await store.mailboxes.list(alice.id)}
    assert "Work" not in names and "Work/Clients" not in names
    assert names["Job"].id == parent.id and names["Job"].uidvalidity == parent.uidvalidity
    assert names["Job/Clients"].id == child.id
    assert names["Job/Clients/Acme"].id == grandchild.id
    assert names["Workshop"].id == other.id  # a shared prefix is not a child


async def test_rename_refusals(store: MailStore) -> None:
    alice = await new_user(store)
    await store.mailboxes.create(alice.id, "A")
    await store.mailboxes.create(alice.id, "A/x")
    await store.mailboxes.create(alice.id, "B")
    await store.mailboxes.create(alice.id, "C/x")
    with pytest.raises(NoSuchMailbox):
        await store.mailboxes.rename(alice.id, "Nope", "Other")
    with pytest.raises(MailboxExists):
        await store.mailboxes.rename(alice.id, "A", "B")
    with pytest.raises(MailboxExists):  # the child's new name is taken
        await store.mailboxes.rename(alice.id, "A", "C")
    assert {b.name for b in await store.mailboxes.list(alice.id)} >= {"A", "A/x", "B", "C/x"}


async def test_delete_mailbox_keeps_children(store: MailStore) -> None:
    alice = await new_user(store)
    parent = await store.mailboxes.create(alice.id, "P")
    child = await store.mailboxes.create(alice.id, "P/c")
    raw, parsed = sample()
    await store.messages.append(child.id, raw, parsed, frozenset(), WHEN)
    await store.messages.append(parent.id, raw, parsed, frozenset(), WHEN)
    await store.mailboxes.delete(alice.id, "P")
    assert await store.mailboxes.get(alice.id, "P") is None
    assert (await store.messages.snapshot(child.id)).uids == [1]
    with pytest.raises(NoSuchMailbox):
        await store.mailboxes.delete(alice.id, "P")
    with pytest.raises(InboxCannotBeDeleted):
        await store.mailboxes.delete(alice.id, "INBOX")


async def test_recreated_mailbox_gets_larger_uidvalidity(store: MailStore) -> None:
    alice = await new_user(store)
    first = await store.mailboxes.create(alice.id, "Tmp")
    raw, parsed = sample()
    await store.messages.append(first.id, raw, parsed, frozenset(), WHEN)
    await store.mailboxes.delete(alice.id, "Tmp")
    second = await store.mailboxes.create(alice.id, "Tmp")
    assert second.uidvalidity > first.uidvalidity
    with pytest.raises(NoSuchMailbox):
        await store.messages.snapshot(first.id)
    assert (await store.messages.snapshot(second.id)).uids == []


async def test_subscriptions_are_names(store: MailStore) -> None:
    alice = await new_user(store)
    bob = await new_user(store, "bob@example.com")
    assert await store.mailboxes.subscriptions(alice.id) == set()
    await store.mailboxes.set_subscribed(alice.id, "INBOX", True)
    await store.mailboxes.set_subscribed(alice.id, "Does/Not/Exist", True)
    await store.mailboxes.set_subscribed(alice.id, "INBOX", True)  # idempotent
    assert await store.mailboxes.subscriptions(alice.id) == {"INBOX", "Does/Not/Exist"}
    await store.mailboxes.set_subscribed(alice.id, "Does/Not/Exist", False)
    await store.mailboxes.set_subscribed(alice.id, "Never", False)
    assert await store.mailboxes.subscriptions(alice.id) == {"INBOX"}
    assert await store.mailboxes.subscriptions(bob.id) == set()
