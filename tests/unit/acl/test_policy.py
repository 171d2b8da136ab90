"""The per-command table as a matrix: for each command and each right it needs, a user
holding everything but that right is refused, and holding the required rights is allowed."""

from __future__ import annotations

import pytest

from mailfort.acl.policy import (
    ANYONE,
    REQUIRED,
    AclEntry,
    Identifier,
    IdentifierKind,
    InvalidIdentifier,
    NegativeRightsUnsupported,
    Operation,
    Outcome,
    Owner,
    OwnerKind,
    Principal,
    Target,
    decide,
    effective_rights,
    parse_identifier,
    permitted_flags,
    store_rights,
)
from mailfort.acl.rights import ALL_RIGHTS, NO_RIGHTS, Right, Rights, parse_rights

# The brief's table, written out independently of REQUIRED so a change to either shows.
EXPECTED: dict[Operation, dict[Target, str]] = {
    Operation.SELECT: {Target.MAILBOX: "r"},
    Operation.EXAMINE: {Target.MAILBOX: "r"},
    Operation.STATUS: {Target.MAILBOX: "r"},
    Operation.LIST: {Target.MAILBOX: "l"},
    Operation.SUBSCRIBE: {Target.MAILBOX: "l"},
    Operation.UNSUBSCRIBE: {},
    Operation.CREATE: {Target.PARENT: "k"},
    Operation.DELETE: {Target.MAILBOX: "x"},
    Operation.RENAME: {Target.MAILBOX: "x", Target.PARENT: "k"},
    Operation.APPEND: {Target.MAILBOX: "i"},
    Operation.COPY: {Target.MAILBOX: "r", Target.DESTINATION: "i"},
    Operation.MOVE: {Target.MAILBOX: "rte", Target.DESTINATION: "i"},
    Operation.EXPUNGE: {Target.MAILBOX: "e"},
    Operation.STORE_SEEN: {Target.MAILBOX: "s"},
    Operation.STORE_DELETED: {Target.MAILBOX: "t"},
    Operation.STORE_OTHER: {Target.MAILBOX: "w"},
    Operation.FETCH: {Target.MAILBOX: "r"},
    Operation.SEARCH: {Target.MAILBOX: "r"},
    Operation.GETACL: {Target.MAILBOX: "a"},
    Operation.SETACL: {Target.MAILBOX: "a"},
    Operation.DELETEACL: {Target.MAILBOX: "a"},
    Operation.LISTRIGHTS: {Target.MAILBOX: "a"},
    Operation.GETQUOTAROOT: {Target.MAILBOX: "r"},
}


def test_table_matches_expectation() -> None:
    for op, checks in REQUIRED.items():
        if op is Operation.MYRIGHTS:
            continue
        assert {t: str(r) for t, r in checks} == EXPECTED[op], op


def _all_targets(op: Operation, rights: Rights) -> dict[Target, Rights]:
    return {t: rights for t, _ in REQUIRED[op]}


MATRIX = [(op, target, right) for op, checks in EXPECTED.items()
          for target, letters in checks.items() for right in parse_rights(letters)]


@pytest.mark.parametrize(("op", "target", "right"), MATRIX,
                         ids=[f"{o.value}-{t.value}-{r.value}" for o, t, r in MATRIX])
def test_matrix_allowed_with_denied_without(op: Operation, target: Target, right: Right) -> None:
    required = {t: parse_rights(letters) for t, letters in EXPECTED[op].items()}
    assert decide(op, required).is_allowed  # exactly the required rights suffice
    # Everything else, but not this right on this target (l kept: a visible mailbox -> NOPERM)
    held = _all_targets(op, ALL_RIGHTS)
    held[target] = ALL_RIGHTS - Rights.of(right)
    decision = decide(op, held)
    assert not decision.is_allowed
    assert decision.target is target
    assert right in decision.missing
    if right is not Right.LOOKUP:
        assert decision.outcome is Outcome.DENIED
    # Only this right, everywhere: allowed only if it is all the op needs.
    only = {t: Rights.of(right) | Rights.of(Right.LOOKUP) for t in required}
    needs_more = any(not (Rights.of(right) | Rights.of(Right.LOOKUP)).issuperset(r)
                     for r in required.values())
    assert decide(op, only).is_allowed is (not needs_more)


@pytest.mark.parametrize("op", [o for o in Operation if o not in (Operation.UNSUBSCRIBE,)])
def test_no_rights_at_all_is_hidden_except_parent(op: Operation) -> None:
    decision = decide(op, {})
    assert not decision.is_allowed
    if decision.target is Target.PARENT:
        assert decision.outcome is Outcome.DENIED
    else:
        assert decision.outcome is Outcome.HIDDEN  # same answer as a missing mailbox


def test_unsubscribe_needs_nothing() -> None:
    assert decide(Operation.UNSUBSCRIBE, {}).is_allowed


def test_myrights_any_right() -> None:
    for right in Right:
        assert decide(Operation.MYRIGHTS, {Target.MAILBOX: Rights.of(right)}).is_allowed
    assert decide(Operation.MYRIGHTS, {Target.MAILBOX: NO_RIGHTS}).outcome is Outcome.HIDDEN


def test_read_without_lookup_is_hidden_on_denial() -> None:
    d = decide(Operation.EXPUNGE, {Target.MAILBOX: parse_rights("r")})
    assert d.outcome is Outcome.HIDDEN
    d = decide(Operation.EXPUNGE, {Target.MAILBOX: parse_rights("lr")})
    assert d.outcome is Outcome.DENIED


def test_copy_from_unreadable_source_is_hidden() -> None:
    d = decide(Operation.COPY, {Target.MAILBOX: NO_RIGHTS, Target.DESTINATION: ALL_RIGHTS})
    assert d.outcome is Outcome.HIDDEN and d.target is Target.MAILBOX


ALICE = Owner(OwnerKind.USER, "alice")
SALES = Owner(OwnerKind.GROUP, "sales")


def _entry(who: str, rights: str) -> AclEntry:
    return AclEntry(parse_identifier(who), parse_rights(rights))


def test_effective_rights_union_of_user_group_anyone() -> None:
    bob = Principal("Bob", frozenset({"Support"}))
    acl = [_entry("bob", "l"), _entry("$support", "r"), _entry(ANYONE, "s"),
           _entry("carol", "a"), _entry("$other", "w")]
    assert effective_rights(bob, ALICE, acl) == parse_rights("lrs")
    assert effective_rights(Principal("alice"), ALICE, []) == ALL_RIGHTS
    assert effective_rights(Principal("ALICE"), ALICE, []) == ALL_RIGHTS


def test_shared_owner_group_has_all_but_administer() -> None:
    member = Principal("bob", frozenset({"sales"}))
    held = effective_rights(member, SALES, [])
    assert held == ALL_RIGHTS - Rights.of(Right.ADMINISTER)
    assert effective_rights(Principal("eve"), SALES, []) == NO_RIGHTS
    # A group name as a user name gains nothing
    assert effective_rights(Principal("sales"), SALES, []) == NO_RIGHTS


def test_identifiers() -> None:
    assert parse_identifier("anyone") == Identifier(IdentifierKind.ANYONE, "anyone")
    assert parse_identifier("$Sales") == Identifier(IdentifierKind.GROUP, "sales")
    assert str(parse_identifier("$sales")) == "$sales"
    assert parse_identifier("Bob") == Identifier(IdentifierKind.USER, "bob")
    with pytest.raises(NegativeRightsUnsupported):
        parse_identifier("-bob")
    for bad in ["", "$", "a b", "a\x00", "x" * 300]:
        with pytest.raises(InvalidIdentifier):
            parse_identifier(bad)


def test_store_rights_per_flag_kind() -> None:
    assert store_rights(["\\Seen"]) == {Operation.STORE_SEEN}
    assert store_rights(["\\deleted"]) == {Operation.STORE_DELETED}
    assert store_rights(["\\Flagged", "$Junk"]) == {Operation.STORE_OTHER}
    assert store_rights([], is_replace=True) == {
        Operation.STORE_SEEN, Operation.STORE_DELETED, Operation.STORE_OTHER}


def test_permitted_flags_drop_what_cannot_be_set() -> None:
    flags = ["\\Seen", "\\Deleted", "\\Flagged"]
    assert permitted_flags(parse_rights("i"), flags) == frozenset()
    assert permitted_flags(parse_rights("is"), flags) == {"\\Seen"}
    assert permitted_flags(parse_rights("itw"), flags) == {"\\Deleted", "\\Flagged"}
