"""What a user name may be. One rule for every door that creates accounts (CLI, import, later
the console): printable ASCII letters, digits and ``. _ % + - @``, starting with a letter or
digit, no ``..``, at most 255 characters. Names never reach a file path, but a strict alphabet
keeps them safe in logs, ACL identifiers and anything an admin might script around them
(SECURITY.md row 15)."""

from __future__ import annotations

import re
from typing import Final

__all__ = ["MAX_USER_NAME_LENGTH", "user_name_problem"]

MAX_USER_NAME_LENGTH: Final = 255
_ALLOWED: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._%+\-@]*")


def user_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a user name, in words; None when it can."""
    if not name:
        return "it is empty"
    if len(name) > MAX_USER_NAME_LENGTH:
        return f"it is longer than {MAX_USER_NAME_LENGTH} characters"
    if not _ALLOWED.fullmatch(name):
        return ("use only letters, digits and . _ % + - @, starting with a letter or digit")
    if ".." in name:
        return "it contains '..'"
    if name.endswith((".", "@")) or name.count("@") > 1:
        return "it is not a valid address"
    return None
