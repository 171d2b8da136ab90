"""Grammar of the ACL (RFC 4314 §9) and QUOTA (RFC 9208 §7) commands.

::

    getacl       = "GETACL" SP mailbox
    setacl       = "SETACL" SP mailbox SP identifier SP mod-rights
    deleteacl    = "DELETEACL" SP mailbox SP identifier
    listrights   = "LISTRIGHTS" SP mailbox SP identifier
    myrights     = "MYRIGHTS" SP mailbox
    identifier   = astring
    mod-rights   = astring                      ; +rights / -rights / rights
    getquota     = "GETQUOTA" SP quota-root-name
    getquotaroot = "GETQUOTAROOT" SP mailbox
    setquota     = "SETQUOTA" SP quota-root-name SP setquota-list
    setquota-list = "(" [setquota-resource *(SP setquota-resource)] ")"
    setquota-resource = resource-name SP resource-limit
    quota-root-name = astring;  resource-name = atom;  resource-limit = number64

``parser.py`` merges :data:`ACL_VERBS` into its verb table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from mailfort.imap import acl_commands as a
from mailfort.imap.errors import BadReason
from mailfort.imap.grammar.atoms import Reader

if TYPE_CHECKING:
    from mailfort.imap.commands import Command

__all__ = ["ACL_VERBS", "MAX_QUOTA_RESOURCES", "MAX_ACL_STRING_BYTES"]

MAX_QUOTA_RESOURCES: Final = 16  # there are two resources; a long list is a flood
MAX_ACL_STRING_BYTES: Final = 255  # identifiers, rights strings and quota-root names


def _short_text(r: Reader) -> str:
    raw = r.astring()
    if len(raw) > MAX_ACL_STRING_BYTES:
        r.fail(BadReason.TOO_COMPLEX, "ACL/QUOTA argument too long")
    return r.text(raw)


def _mailbox_and_id(cls: Callable[[str, str, str], Command]
                    ) -> Callable[[Reader, str], Command]:
    def parse(r: Reader, tag: str) -> Command:
        r.sp()
        mailbox = r.mailbox()
        r.sp()
        return cls(tag, mailbox, _short_text(r))
    return parse


def _mailbox_only(cls: Callable[[str, str], Command]) -> Callable[[Reader, str], Command]:
    def parse(r: Reader, tag: str) -> Command:
        r.sp()
        return cls(tag, r.mailbox())
    return parse


def _setacl(r: Reader, tag: str) -> Command:
    r.sp()
    mailbox = r.mailbox()
    r.sp()
    identifier = _short_text(r)
    r.sp()
    return a.SetAcl(tag, mailbox, identifier, _short_text(r))


def _getquota(r: Reader, tag: str) -> Command:
    r.sp()
    return a.GetQuota(tag, _short_text(r))


def _setquota(r: Reader, tag: str) -> Command:
    r.sp()
    root = _short_text(r)
    r.sp()
    r.expect(b"(")
    resources: list[tuple[str, int]] = []
    if not r.maybe(b")"):
        while True:
            name = r.keyword()
            r.sp()
            resources.append((name, r.number64()))
            if len(resources) > MAX_QUOTA_RESOURCES:
                r.fail(BadReason.TOO_COMPLEX, "too many quota resources")
            if r.maybe(b")"):
                break
            r.sp()
    return a.SetQuota(tag, root, tuple(resources))


ACL_VERBS: Final[Mapping[str, Callable[[Reader, str], Command]]] = MappingProxyType({
    "GETACL": _mailbox_only(a.GetAcl),
    "SETACL": _setacl,
    "DELETEACL": _mailbox_and_id(a.DeleteAcl),
    "LISTRIGHTS": _mailbox_and_id(a.ListRights),
    "MYRIGHTS": _mailbox_only(a.MyRights),
    "GETQUOTA": _getquota,
    "GETQUOTAROOT": _mailbox_only(a.GetQuotaRoot),
    "SETQUOTA": _setquota,
})
