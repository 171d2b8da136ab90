from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailfort.acl.rights import (
    ALL_RIGHTS,
    CREATE_SET,
    DELETE_SET,
    NO_RIGHTS,
    InvalidRights,
    Right,
    Rights,
    format_rights,
    format_with_obsolete,
    parse_rights,
    parse_rights_change,
)


def test_parse_and_format_canonical_order() -> None:
    assert format_rights(parse_rights("aetxkpiwsrl")) == "lrswipkxtea"
    assert parse_rights("") == NO_RIGHTS
    assert parse_rights("lrl") == Rights.of(Right.LOOKUP, Right.READ)
    assert str(ALL_RIGHTS) == "lrswipkxtea"


@pytest.mark.parametrize("bad", ["z", "L", "1", " ", "l r", "lr\x00", "x" * 65])
def test_unknown_rights_refused(bad: str) -> None:
    with pytest.raises(InvalidRights):
        parse_rights(bad)


def test_obsolete_c_and_d_expand_on_input() -> None:
    assert parse_rights("c") == CREATE_SET == Rights.of(Right.CREATE, Right.DELETE_MAILBOX)
    assert parse_rights("d") == DELETE_SET
    assert format_rights(parse_rights("lrcd")) == "lrkxte"


def test_obsolete_letters_added_to_answers() -> None:
    assert format_with_obsolete(parse_rights("lr")) == "lr"
    assert format_with_obsolete(parse_rights("lrk")) == "lrkc"
    assert format_with_obsolete(parse_rights("lre")) == "lred"
    assert format_with_obsolete(ALL_RIGHTS) == "lrswipkxteacd"


def test_rights_change_modes() -> None:
    cur = parse_rights("lrs")
    assert parse_rights_change("+wi").apply(cur) == parse_rights("lrswi")
    assert parse_rights_change("-s").apply(cur) == parse_rights("lr")
    assert parse_rights_change("a").apply(cur) == parse_rights("a")


@settings(max_examples=200)
@given(st.sets(st.sampled_from(list(Right))))
def test_roundtrip(members: set[Right]) -> None:
    r = Rights(frozenset(members))
    assert parse_rights(format_rights(r)) == r
