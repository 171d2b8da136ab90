"""Protocol limits of the IMAP core, derived once from ``config.LimitSettings``.

Every size, count and depth the framer and the parser enforce is read from one
:class:`ProtocolLimits` value, so a test can build a small one and the server a configured one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from mailfort.config.model import LimitSettings

__all__ = ["ProtocolLimits", "MAX_NUMBER", "MAX_NUMBER64", "MAX_ID_PARAMS",
           "MAX_ID_FIELD_BYTES", "MAX_ID_VALUE_BYTES", "MAX_LITERAL_DIGITS", "MAX_TAG_BYTES"]

MAX_NUMBER: Final = 2**32 - 1  # RFC 9051 ``number``
MAX_NUMBER64: Final = 2**63 - 1  # RFC 9051 ``number64`` / RFC 7162 ``mod-sequence-value``
MAX_ID_PARAMS: Final = 30  # RFC 2971 §3.3
MAX_ID_FIELD_BYTES: Final = 30
MAX_ID_VALUE_BYTES: Final = 1024
MAX_LITERAL_DIGITS: Final = 20  # more digits than this is an absurd literal header
MAX_TAG_BYTES: Final = 64  # a longer tag is refused (untagged BAD) rather than echoed


@dataclass(frozen=True, slots=True)
class ProtocolLimits:
    """Limits of one connection.

    ``max_command_literal_bytes``: all literals of one non-APPEND command together.
    ``max_search_depth``: nesting of SEARCH keys through NOT, OR and parentheses.
    ``max_skip_bytes``: the largest too-big LITERAL+ body we skip (never buffer) before
    answering BAD; anything larger ends the connection with ``BYE [TOOBIG]``.
    ``max_discard_bytes``: the longest over-long line we swallow before closing.
    """

    max_line_bytes: int = 64 * 1024
    max_literal_bytes: int = 64 * 1024
    max_message_bytes: int = 50 * 1024 * 1024
    max_paren_depth: int = 16
    max_sequence_ranges: int = 1000
    max_bad_commands: int = 10
    max_command_literal_bytes: int = 256 * 1024
    max_search_depth: int = 64
    max_skip_bytes: int = 50 * 1024 * 1024
    max_discard_bytes: int = 50 * 1024 * 1024

    @classmethod
    def from_settings(cls, s: LimitSettings) -> ProtocolLimits:
        return cls(
            max_line_bytes=s.max_line_bytes,
            max_literal_bytes=s.max_literal_bytes,
            max_message_bytes=s.max_message_bytes,
            max_paren_depth=s.max_paren_depth,
            max_sequence_ranges=s.max_sequence_ranges,
            max_bad_commands=s.max_bad_commands,
            max_command_literal_bytes=4 * s.max_literal_bytes,
            max_search_depth=max(4 * s.max_paren_depth, 32),
            max_skip_bytes=s.max_message_bytes,
            max_discard_bytes=s.max_message_bytes,
        )
