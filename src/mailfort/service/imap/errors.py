"""Domain error → tagged reply. The one table for the IMAP door (STYLE.md §4).

Every text here is fixed; the wire never sees ``str(exc)``. ``reply_for`` returns None for an
exception it does not know: that is a bug, and the driver answers ``* BYE [SERVERBUG]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

from mailfort.auth.errors import AuthenticationFailed
from mailfort.auth.login import LoginRefused, Refusal
from mailfort.imap.codes import ResponseCode
from mailfort.store.acl import OverQuota
from mailfort.store.errors import (
    InboxCannotBeDeleted,
    InvalidMailboxName,
    MailboxExists,
    MailboxHasChildren,
    NoSuchMailbox,
    NoSuchUser,
)

__all__ = ["Status", "Completion", "reply_for", "ok", "no", "bad", "TRYCREATE",
           "login_failure", "LOGIN_LIMIT", "AUTHZ_REFUSED", "SASL_FAILED"]


class Status(Enum):
    OK = "OK"
    NO = "NO"
    BAD = "BAD"


@dataclass(frozen=True, slots=True)
class Completion:
    """A tagged status response: ``tag STATUS [code data] text``."""

    status: Status
    text: str
    code: ResponseCode | None = None
    code_data: bytes | None = None


def ok(text: str, code: ResponseCode | None = None, code_data: bytes | None = None
       ) -> Completion:
    return Completion(Status.OK, text, code, code_data)


def no(text: str, code: ResponseCode | None = None, code_data: bytes | None = None
       ) -> Completion:
    return Completion(Status.NO, text, code, code_data)


def bad(text: str, code: ResponseCode | None = None) -> Completion:
    return Completion(Status.BAD, text, code)


_TABLE: Final[tuple[tuple[type[Exception], Completion], ...]] = (
    (NoSuchMailbox, no("Mailbox does not exist", ResponseCode.NONEXISTENT)),
    (MailboxExists, no("Mailbox already exists", ResponseCode.ALREADYEXISTS)),
    (MailboxHasChildren, no("Mailbox has children", ResponseCode.HASCHILDREN)),
    (InvalidMailboxName, no("Invalid mailbox name", ResponseCode.CANNOT)),
    (InboxCannotBeDeleted, no("INBOX cannot be deleted", ResponseCode.CANNOT)),
    (NoSuchUser, no("No such user", ResponseCode.NONEXISTENT)),
    (AuthenticationFailed, no("Authentication failed", ResponseCode.AUTHENTICATIONFAILED)),
    (OverQuota, no("Quota exceeded", ResponseCode.OVERQUOTA)),  # APPEND/COPY/MOVE (RFC 9208)
)

# Commands that put a message into a mailbox say TRYCREATE when it is missing (RFC 9051 §7.1).
TRYCREATE: Final = no("Mailbox does not exist", ResponseCode.TRYCREATE)


def reply_for(exc: BaseException, *, is_target: bool = False) -> Completion | None:
    """The fixed reply for a domain error. ``is_target``: the mailbox was the destination of
    APPEND/COPY/MOVE, so a missing one is answered with TRYCREATE."""
    if is_target and isinstance(exc, NoSuchMailbox):
        return TRYCREATE
    for kind, completion in _TABLE:
        if isinstance(exc, kind):
            return completion
    return None


# A refused login: one reply per ``auth.login.Refusal``, fixed texts (the guard's and the
# login service's detail goes to the audit events, never to the wire).
_REFUSALS: Final[dict[Refusal, Completion]] = {
    Refusal.FAILED: no("Authentication failed", ResponseCode.AUTHENTICATIONFAILED),
    Refusal.EXPIRED: no("Your password has expired; change it on the account page or ask your "
                        "administrator to reset it", ResponseCode.EXPIRED),
    Refusal.UNAVAILABLE: no("Too many failed logins; try again later",
                            ResponseCode.UNAVAILABLE),
    Refusal.LIMIT: no("Too many connections for this account from your address",
                      ResponseCode.LIMIT),
    Refusal.NOT_ALLOWED: no("This account may not log in from your address",
                            ResponseCode.AUTHORIZATIONFAILED),
    # [mfa] required_users/groups and no MFA yet: told only after the password verified.
    Refusal.MFA_ENROLMENT_REQUIRED: no(
        "This account must use two-factor authentication; ask your administrator to set "
        "it up, then use an app password", ResponseCode.CONTACTADMIN),
}
_AUTH_FAILED: Final = _REFUSALS[Refusal.FAILED]

# After a successful login the guard's per-user-and-address connection limit was reached.
LOGIN_LIMIT: Final = _REFUSALS[Refusal.LIMIT]
# SASL: an exchange the mechanism refused (empty or undecodable credentials...): it answers
# like a failed login, so it is no oracle.
SASL_FAILED: Final = _REFUSALS[Refusal.FAILED]
# SASL: an authorization identity other than the authentication identity.
AUTHZ_REFUSED: Final = no("Authorization identity not permitted",
                          ResponseCode.AUTHORIZATIONFAILED)


def login_failure(exc: AuthenticationFailed) -> Completion:
    """The reply to a refused login: one text for every reason that must not be told apart
    (unknown user, wrong password, disabled, MFA required); the policy refusals of
    ``auth.login`` get their own code and fixed text."""
    if isinstance(exc, LoginRefused):
        return _REFUSALS[exc.refusal]
    return _AUTH_FAILED
