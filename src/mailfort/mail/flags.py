"""Message flags. System flags keep their RFC spelling; keywords are case-insensitive atoms
compared case-insensitively but stored as first seen."""

from __future__ import annotations

from typing import Final

__all__ = ["SEEN", "ANSWERED", "FLAGGED", "DELETED", "DRAFT", "RECENT", "SYSTEM_FLAGS",
           "canonical_flag", "PERMANENT_FLAGS"]

SEEN: Final = "\\Seen"
ANSWERED: Final = "\\Answered"
FLAGGED: Final = "\\Flagged"
DELETED: Final = "\\Deleted"
DRAFT: Final = "\\Draft"
RECENT: Final = "\\Recent"  # session-only, never stored

SYSTEM_FLAGS: Final = (ANSWERED, FLAGGED, DELETED, SEEN, DRAFT)
PERMANENT_FLAGS: Final = SYSTEM_FLAGS
_BY_LOWER: Final = {f.lower(): f for f in (*SYSTEM_FLAGS, RECENT)}


def canonical_flag(flag: str) -> str:
    """System flags to their canonical case; keywords unchanged."""
    return _BY_LOWER.get(flag.lower(), flag)
