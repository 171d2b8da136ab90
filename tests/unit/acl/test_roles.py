from __future__ import annotations

import pytest

from mailfort.acl.policy import (
    Operation,
    Owner,
    OwnerKind,
    Principal,
    Target,
    decide,
    effective_rights,
)
from mailfort.acl.rights import NO_RIGHTS
from mailfort.acl.roles import Permission, Role, UnknownRole, may, parse_role


def test_role_permissions() -> None:
    assert may(Role.ADMIN, Permission.MANAGE_ACLS)
    assert may(Role.AUDITOR, Permission.READ_AUDIT)
    assert not may(Role.AUDITOR, Permission.MANAGE_USERS)
    assert not any(may(Role.USER, p) for p in Permission)


def test_admin_role_gives_no_mail_access() -> None:
    admin = Principal("root@example.com", frozenset({"staff"}), Role.ADMIN)
    held = effective_rights(admin, Owner(OwnerKind.USER, "alice@example.com"), ())
    assert held == NO_RIGHTS
    for op in (Operation.SELECT, Operation.FETCH, Operation.LIST):
        assert not decide(op, {Target.MAILBOX: held}).is_allowed


def test_parse_role() -> None:
    assert parse_role(" Admin ") is Role.ADMIN
    with pytest.raises(UnknownRole):
        parse_role("root")
