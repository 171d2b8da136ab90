"""Protocol errors of the IMAP core (STYLE.md §4, first family).

``BadSyntax`` and ``BadState`` become a tagged ``BAD`` (untagged when no tag was parsed),
``Refused`` a tagged ``NO`` with a response code, ``Disconnect`` an untagged ``BYE`` and close.
The public text of each is a fixed string from :class:`BadReason` or the raiser's fixed table;
``detail`` is for logs only and never reaches the wire.
"""

from __future__ import annotations

from enum import Enum

from mailfort.core.errors import MailfortError
from mailfort.imap.codes import ResponseCode

__all__ = ["BadReason", "ProtocolError", "BadSyntax", "BadState", "Refused", "Disconnect"]


class BadReason(Enum):
    """Fixed public texts for BAD replies. The value is what the client sees."""

    SYNTAX = "Syntax error"
    UNKNOWN_COMMAND = "Unknown command"
    EMPTY_LINE = "Empty command line"
    INVALID_TAG = "Invalid tag"
    INVALID_MAILBOX = "Invalid mailbox name"
    INVALID_STRING = "Invalid string"
    INVALID_NUMBER = "Invalid number"
    INVALID_SEQUENCE_SET = "Invalid sequence set"
    INVALID_DATE = "Invalid date"
    INVALID_FLAG = "Invalid flag"
    INVALID_BASE64 = "Invalid base64"
    UNSUPPORTED = "Unsupported option"
    TOO_COMPLEX = "Command too complex"
    LINE_TOO_LONG = "Command line too long"
    LITERAL_TOO_BIG = "Literal too big"
    WRONG_STATE = "Command not valid in this state"
    EXPECTED_DONE = "Expected DONE"


class ProtocolError(MailfortError):
    """Base of the IMAP core's own errors."""


class BadSyntax(ProtocolError):
    """The command could not be parsed. Answered with ``<tag> BAD <reason>``."""

    def __init__(self, tag: str | None, reason: BadReason, detail: str = "") -> None:
        super().__init__(f"{reason.name}: {detail}" if detail else reason.name)
        self.tag = tag
        self.reason = reason
        self.detail = detail

    @property
    def text(self) -> str:
        return self.reason.value


class BadState(ProtocolError):
    """A well-formed command not valid in the current state."""

    def __init__(self, tag: str) -> None:
        super().__init__("command not valid in this state")
        self.tag = tag
        self.reason = BadReason.WRONG_STATE

    @property
    def text(self) -> str:
        return self.reason.value


class Refused(ProtocolError):
    """A well-formed command the core refuses: ``<tag> NO [code] <text>``. ``text`` must be a
    fixed string; ``code_data`` is the code's argument (e.g. the charset list of BADCHARSET)."""

    def __init__(self, tag: str, code: ResponseCode, text: str,
                 code_data: bytes | None = None, detail: str = "") -> None:
        super().__init__(f"{code.value}: {detail}" if detail else code.value)
        self.tag = tag
        self.code = code
        self.text = text
        self.code_data = code_data
        self.detail = detail


class Disconnect(ProtocolError):
    """The connection must end: ``* BYE [code] <text>`` then close."""

    def __init__(self, text: str, code: ResponseCode | None = None, detail: str = "") -> None:
        super().__init__(detail or text)
        self.text = text
        self.code = code
        self.detail = detail
