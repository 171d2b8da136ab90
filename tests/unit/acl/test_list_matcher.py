"""The LIST matcher against a slow, obviously-correct reference; and linearity by step count."""

from __future__ import annotations

from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from mailfort.acl.names import ListPattern


def reference(pattern: str, name: str) -> bool:
    @cache
    def m(i: int, j: int) -> bool:
        if i == len(pattern):
            return j == len(name)
        p = pattern[i]
        if p == "*":
            return any(m(i + 1, k) for k in range(j, len(name) + 1))
        if p == "%":
            k = j
            while True:
                if m(i + 1, k):
                    return True
                if k == len(name) or name[k] == "/":
                    return False
                k += 1
        return j < len(name) and name[j] == p and m(i + 1, j + 1)
    return m(0, 0)


def reference_children(pattern: str, name: str) -> bool:
    # Some child name/x... (short suffixes suffice for small alphabets) matches.
    alphabet = "ab/"
    suffixes = [""]
    for _ in range(len(pattern) + 1):
        suffixes += [s + c for s in suffixes if len(s) < len(pattern) + 1 for c in alphabet]
        suffixes = list(dict.fromkeys(suffixes))
    return any(reference(pattern, name + "/" + s) for s in suffixes
               if s and "//" not in "/" + s + "/")


PAT = st.text(alphabet="ab/*%", max_size=7)
NAME = st.text(alphabet="ab/", max_size=8)


@settings(max_examples=200, deadline=None)
@given(PAT, NAME)
def test_matches_reference(pattern: str, name: str) -> None:
    assert ListPattern.compile(pattern, inbox_case_insensitive=False).matches(name) \
        == reference(pattern, name)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="ab/*%", max_size=4), st.text(alphabet="ab", min_size=1, max_size=3))
def test_could_match_children_never_misses(pattern: str, name: str) -> None:
    got = ListPattern.compile(pattern, inbox_case_insensitive=False).match(name)
    if reference_children(pattern, name):
        assert got.could_match_children
    if "/" not in pattern:  # no empty-level corner: the answer is exact
        assert got.could_match_children == reference_children(pattern, name)


def test_examples() -> None:
    p = ListPattern.compile("%")
    assert p.matches("INBOX") and not p.matches("a/b")
    assert p.match("a").could_match_children is False
    p = ListPattern.compile("Shared/%")
    assert p.matches("Shared/sales") and not p.matches("Shared/sales/2024")
    assert p.match("Shared").could_match_children
    assert ListPattern.compile("inbox").matches("INBOX")
    assert ListPattern.compile("*").match("x").could_match_children
    assert not ListPattern.compile("a").match("b").could_match_children


def test_forty_wildcards_over_ten_thousand_names_is_linear() -> None:
    names = [f"dept{i % 97}/team{i % 13}/box{i}" for i in range(10_000)]
    pattern = ListPattern.compile("*%" * 20 + "x")  # collapses, yet the classic blow-up shape
    pattern2 = ListPattern.compile("*a" * 20 + "*")  # 21 stars, 20 literals: no collapse
    for pat in (pattern, pattern2):
        total = 0
        for name in names:
            _, steps = pat.match_counting(name)
            assert steps <= len(name) + 2  # one step per character, plus start and children
            total += steps
        assert total <= sum(len(n) + 2 for n in names)
