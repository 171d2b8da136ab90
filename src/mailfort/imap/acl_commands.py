"""The RFC 4314 ACL and RFC 9208 QUOTA commands, one frozen dataclass per verb.

Kept beside ``commands.py`` (which re-exports them into the ``Command`` union) so the ACL
slice reads as one vertical: ``grammar/acl.py`` -> here -> ``service/imap/acl.py``.
Mailbox names arrive decoded from modified UTF-7 (``INBOX`` normalised); identifiers and
rights strings are the ``astring`` text as sent (the service parses and checks them).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["GetAcl", "SetAcl", "DeleteAcl", "ListRights", "MyRights", "GetQuota",
           "GetQuotaRoot", "SetQuota", "AclCommand"]


@dataclass(frozen=True, slots=True)
class GetAcl:
    """``getacl = "GETACL" SP mailbox`` (RFC 4314 §3.3)."""

    tag: str
    mailbox: str


@dataclass(frozen=True, slots=True)
class SetAcl:
    """``setacl = "SETACL" SP mailbox SP identifier SP mod-rights`` (RFC 4314 §3.1).
    ``rights`` keeps a leading ``+`` or ``-``."""

    tag: str
    mailbox: str
    identifier: str
    rights: str


@dataclass(frozen=True, slots=True)
class DeleteAcl:
    """``deleteacl = "DELETEACL" SP mailbox SP identifier`` (RFC 4314 §3.2)."""

    tag: str
    mailbox: str
    identifier: str


@dataclass(frozen=True, slots=True)
class ListRights:
    """``listrights = "LISTRIGHTS" SP mailbox SP identifier`` (RFC 4314 §3.4)."""

    tag: str
    mailbox: str
    identifier: str


@dataclass(frozen=True, slots=True)
class MyRights:
    """``myrights = "MYRIGHTS" SP mailbox`` (RFC 4314 §3.5)."""

    tag: str
    mailbox: str


@dataclass(frozen=True, slots=True)
class GetQuota:
    """``getquota = "GETQUOTA" SP quota-root-name`` (RFC 9208 §4.1.1)."""

    tag: str
    root: str


@dataclass(frozen=True, slots=True)
class GetQuotaRoot:
    """``getquotaroot = "GETQUOTAROOT" SP mailbox`` (RFC 9208 §4.1.2)."""

    tag: str
    mailbox: str


@dataclass(frozen=True, slots=True)
class SetQuota:
    """``setquota = "SETQUOTA" SP quota-root-name SP setquota-list`` (RFC 9208 §4.1.3);
    ``resources`` are (upper-cased resource name, limit) in the order sent."""

    tag: str
    root: str
    resources: tuple[tuple[str, int], ...]


AclCommand = (GetAcl | SetAcl | DeleteAcl | ListRights | MyRights | GetQuota | GetQuotaRoot
              | SetQuota)
