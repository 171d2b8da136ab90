"""RFC 4314 §5.2 as data: when a SELECT is READ-WRITE, and which PERMANENTFLAGS it lists."""

from __future__ import annotations

import pytest

from mailfort.acl.policy import is_read_write, permanent_flags
from mailfort.acl.rights import ALL_RIGHTS, parse_rights
from mailfort.mail.flags import PERMANENT_FLAGS


@pytest.mark.parametrize(("rights", "expected"), [
    ("", False), ("l", False), ("lr", False), ("lrpkxa", False),
    ("lri", True), ("lre", True), ("lrs", True), ("lrw", True), ("lrt", True),
])
def test_read_write_needs_a_right_that_changes_the_mailbox(rights: str,
                                                           expected: bool) -> None:
    assert is_read_write(parse_rights(rights)) is expected


@pytest.mark.parametrize(("rights", "expected"), [
    ("lr", ()),
    ("lrs", ("\\Seen",)),
    ("lrt", ("\\Deleted",)),
    ("lrw", ("\\Answered", "\\Flagged", "\\Draft", "\\*")),
    ("lrie", ()),
])
def test_permanent_flags_follow_the_rights(rights: str, expected: tuple[str, ...]) -> None:
    assert permanent_flags(parse_rights(rights), PERMANENT_FLAGS) == expected


def test_the_owner_may_set_every_flag() -> None:
    assert permanent_flags(ALL_RIGHTS, PERMANENT_FLAGS) == (*PERMANENT_FLAGS, "\\*")
