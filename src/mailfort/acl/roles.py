"""Roles: what an account may administer. A role never grants mail access.

``admin`` manages users, groups, ACLs, quotas and the guard; ``auditor`` reads the audit log and
reports; ``user`` has no administrative permission. Reading anyone's mail needs an ACL grant
(acl.policy), which an admin can make -- and that grant is an audited ``AdminAction`` /
``PermissionChanged`` event -- but the role itself opens no mailbox: ``policy.effective_rights``
never looks at it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from types import MappingProxyType
from typing import Final

from mailfort.core.errors import MailfortError

__all__ = ["Role", "Permission", "ROLE_PERMISSIONS", "may", "parse_role", "UnknownRole",
           "DEFAULT_ROLE"]


class UnknownRole(MailfortError):
    pass


class Role(Enum):
    ADMIN = "admin"
    AUDITOR = "auditor"
    USER = "user"


DEFAULT_ROLE: Final = Role.USER


class Permission(Enum):
    MANAGE_USERS = "manage_users"
    MANAGE_GROUPS = "manage_groups"
    MANAGE_ACLS = "manage_acls"  # set ACLs on any mailbox (an audited grant), not read them
    MANAGE_QUOTAS = "manage_quotas"  # SETQUOTA
    MANAGE_GUARD = "manage_guard"
    READ_AUDIT = "read_audit"
    READ_REPORTS = "read_reports"


ROLE_PERMISSIONS: Final[Mapping[Role, frozenset[Permission]]] = MappingProxyType({
    Role.ADMIN: frozenset({Permission.MANAGE_USERS, Permission.MANAGE_GROUPS,
                           Permission.MANAGE_ACLS, Permission.MANAGE_QUOTAS,
                           Permission.MANAGE_GUARD, Permission.READ_AUDIT,
                           Permission.READ_REPORTS}),
    Role.AUDITOR: frozenset({Permission.READ_AUDIT, Permission.READ_REPORTS}),
    Role.USER: frozenset(),
})


def may(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]


def parse_role(text: str) -> Role:
    try:
        return Role(text.strip().lower())
    except ValueError:
        raise UnknownRole("unknown role (use admin, auditor or user)") from None
