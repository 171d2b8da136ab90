from __future__ import annotations

import unicodedata

import pytest

from mailfort.acl.names import (
    MAX_DEPTH,
    MAX_NAME_CHARS,
    MailboxPath,
    NameProblem,
    Namespace,
    find_equivalent,
    name_problem,
    parent_name,
    resolve,
    validate_name,
)
from mailfort.store.errors import InvalidMailboxName


@pytest.mark.parametrize(("name", "problem"), [
    ("", NameProblem.EMPTY),
    ("../etc/passwd", NameProblem.DOT_LEVEL),
    ("a/../b", NameProblem.DOT_LEVEL),
    ("a/./b", NameProblem.DOT_LEVEL),
    ("..", NameProblem.DOT_LEVEL),
    ("/abs", NameProblem.EMPTY_LEVEL),
    ("a//b", NameProblem.EMPTY_LEVEL),
    ("trailing/", NameProblem.EMPTY_LEVEL),
    ("a\x00b", NameProblem.CONTROL),
    ("a\r\nb", NameProblem.CONTROL),
    ("a\x7fb", NameProblem.CONTROL),
    ("a\x85b", NameProblem.CONTROL),  # C1 NEL
    ("evil\u202egpj.exe", NameProblem.CONTROL),  # bidi override
    ("zero\u200bwidth", NameProblem.CONTROL),
    ("line\u2028sep", NameProblem.CONTROL),
    ("a*", NameProblem.WILDCARD),
    ("%", NameProblem.WILDCARD),
    ("x" * (MAX_NAME_CHARS + 1), NameProblem.TOO_LONG),
    ("/".join(["a"] * (MAX_DEPTH + 1)), NameProblem.TOO_DEEP),
    ("y" * 256, NameProblem.LEVEL_TOO_LONG),
    ("Cafe\u0301", NameProblem.NOT_NFC),
])
def test_unsafe_names(name: str, problem: NameProblem) -> None:
    assert name_problem(name) is problem


@pytest.mark.parametrize("name", ["INBOX", "Projects/2024", "Café", "日本語/メール",
                                  "a.b", "...a", "a..b", "/".join(["a"] * MAX_DEPTH)])
def test_safe_names(name: str) -> None:
    assert name_problem(name) is None


def test_validate_normalises_nfc_and_inbox() -> None:
    assert validate_name("Cafe\u0301") == "Caf\u00e9"
    assert validate_name("inbox/Sub") == "INBOX/Sub"
    with pytest.raises(InvalidMailboxName):
        validate_name("Cafe\u0301", normalize=False)
    with pytest.raises(InvalidMailboxName) as info:
        validate_name("a/../b")
    assert "../" not in str(info.value)  # the name is never echoed


def test_nfc_duplicates_found() -> None:
    decomposed = unicodedata.normalize("NFD", "Résumé")
    assert find_equivalent(decomposed, ["INBOX", "Résumé"]) == "Résumé"
    assert find_equivalent("inbox", ["INBOX"]) == "INBOX"
    assert find_equivalent("Résumé", ["Résumé"]) is None  # exact: MailboxExists, not this
    assert find_equivalent("resume", ["Résumé"]) is None


def test_parent_name() -> None:
    assert parent_name("a/b/c") == "a/b"
    assert parent_name("a") is None


def test_resolve_namespaces() -> None:
    assert resolve("Projects", "alice") == MailboxPath(Namespace.PERSONAL, "alice", "Projects")
    assert resolve("Other Users/bob/Work", "alice") == MailboxPath(
        Namespace.OTHER_USERS, "bob", "Work")
    assert resolve("Other Users/bob", "alice") == MailboxPath(
        Namespace.OTHER_USERS, "bob", "INBOX")
    assert resolve("Other Users/bob/inbox/x", "alice").local == "INBOX/x"
    assert resolve("Shared/sales/2024", "alice") == MailboxPath(
        Namespace.SHARED, "sales", "sales/2024")
    for path in (resolve("Other Users/bob/Work", "a"), resolve("Other Users/bob", "a"),
                 resolve("Shared/sales", "a"), resolve("X", "a")):
        assert resolve(path.visible_name(), "a") == path


@pytest.mark.parametrize("name", ["Shared", "Other Users", "Shared/", "Other Users/",
                                  "Other Users/../bob", "Shared/../INBOX",
                                  "Other Users/bob/../../alice"])
def test_resolve_refuses_roots_and_traversal(name: str) -> None:
    with pytest.raises(InvalidMailboxName):
        resolve(name, "alice")
