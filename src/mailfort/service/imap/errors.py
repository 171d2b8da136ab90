"""Domain error → tagged reply. The one table for the IMAP door (STYLE.md §4).

Every text here is fixed; the wire never sees ``str(exc)``. ``reply_for`` returns None for an
exception it does not know: that is a bug, and the driver answers ``* BYE [SERVERBUG]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

from mailfort.auth.errors import AuthenticationFailed
from mailfort.auth.login import REFUSAL_TEXT, LoginRefused, Refusal
from mailfort.imap.codes import ResponseCode
from mailfort.store.errors import (
    InboxCannotBeDeleted,
    InvalidMailboxName,
    MailboxExists,
    MailboxHasChildren,
    NoSuchMailbox,
    NoSuchUser,
)

__all__ = ["Status", "Completion", "reply_for", "ok", "no", "bad", "TRYCREATE",
           "login_failure"]


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


_REFUSAL_CODES: Final = {
    Refusal.FAILED: ResponseCode.AUTHENTICATIONFAILED,
    Refusal.EXPIRED: ResponseCode.EXPIRED,
    Refusal.UNAVAILABLE: ResponseCode.UNAVAILABLE,
    Refusal.LIMIT: ResponseCode.LIMIT,
    Refusal.NOT_ALLOWED: ResponseCode.AUTHORIZATIONFAILED,
}
_AUTH_FAILED: Final = no("Authentication failed", ResponseCode.AUTHENTICATIONFAILED)


def login_failure(exc: AuthenticationFailed) -> Completion:
    """The reply to a refused login: one text for every reason that must not be told apart
    (unknown user, wrong password, disabled); the policy refusals of ``auth.login`` get their
    own code and fixed text."""
    if isinstance(exc, LoginRefused) and exc.refusal is not Refusal.FAILED:
        return no(REFUSAL_TEXT[exc.refusal], _REFUSAL_CODES[exc.refusal])
    return _AUTH_FAILED
