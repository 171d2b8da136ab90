"""LIST pattern matching, mailbox-name rules and capability sets (no event loop)."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailfort.service.imap.capability import BASE, capabilities
from mailfort.service.imap.mailbox import normalise_name, pattern_matches


def _reference(pattern: str, name: str) -> bool:
    """A regex oracle, for the test only (the server never builds regexes from input)."""
    if pattern[:5].upper() == "INBOX" and (len(pattern) == 5 or pattern[5] in "/*%"):
        pattern = "INBOX" + pattern[5:]
    rx = "".join(".*" if ch == "*" else "[^/]*" if ch == "%" else re.escape(ch)
                  for ch in pattern)
    return re.fullmatch(rx, name, flags=re.DOTALL) is not None


@pytest.mark.parametrize(("pattern", "name", "expected"), [
    ("*", "a/b/c", True), ("%", "a", True), ("%", "a/b", False), ("a/%", "a/b", True),
    ("a/%", "a/b/c", False), ("a*", "a/b/c", True), ("inbox", "INBOX", True),
    ("Inbox/%", "INBOX/x", True), ("a%c", "abc", True), ("a%c", "a/c", False),
    ("", "", True), ("x", "", False), ("*%*%", "q", True),
])
def test_pattern_table(pattern: str, name: str, expected: bool) -> None:
    assert pattern_matches(pattern, name) is expected


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab/*%", max_size=8), st.text(alphabet="ab/", max_size=8))
def test_pattern_matches_agrees_with_oracle(pattern: str, name: str) -> None:
    assert pattern_matches(pattern, name) is _reference(pattern, name)


def test_hostile_pattern_is_fast() -> None:
    name = "a" * 200
    start = time.perf_counter()
    for _ in range(100):
        assert not pattern_matches("*%" * 500 + "!", name)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize(("raw", "expected"), [
    ("a/b", "a/b"), ("a/b/", "a/b"), ("inbox/x", "INBOX/x"), ("", None), ("/abs", None),
    ("a//b", None), ("a/../b", None), ("./a", None), ("a*b", None), ("a%", None),
    ("bad\x01name", None), ("x" * 600, None), ("/".join("d" * 40), None),
])
def test_normalise_name(raw: str, expected: str | None) -> None:
    assert normalise_name(raw) == expected


def test_capability_sets() -> None:
    pre = capabilities(is_tls=False, is_authenticated=False, is_login_allowed=False)
    assert pre[-2:] == ("STARTTLS", "LOGINDISABLED") and "AUTH=PLAIN" not in pre
    tls = capabilities(is_tls=True, is_authenticated=False, is_login_allowed=True)
    assert tls[-2:] == ("SASL-IR", "AUTH=PLAIN") and "STARTTLS" not in tls
    loop = capabilities(is_tls=False, is_authenticated=False, is_login_allowed=True)
    assert "STARTTLS" in loop and "AUTH=PLAIN" in loop and "LOGINDISABLED" not in loop
    assert capabilities(is_tls=True, is_authenticated=True, is_login_allowed=True) == BASE
