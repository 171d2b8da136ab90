from __future__ import annotations

import hashlib
from pathlib import Path

from mailfort.auth.policy import (
    CommonPasswords,
    HibpFile,
    PasswordPolicy,
    PasswordPolicySettings,
    expiry,
)
from mailfort.core.secret import Secret
from mailfort.store.security import PasswordState
from mailfort.store.types import UserId

POLICY = PasswordPolicy.default()


def reasons(pw: str, user: str = "alice@example.com", has_mfa: bool = True) -> tuple[str, ...]:
    return POLICY.check(Secret(pw), username=user, has_mfa=has_mfa).reasons


def test_shipped_list_has_100k_entries_and_common_ones() -> None:
    common = CommonPasswords()
    assert len(common) >= 100_000
    assert common.contains("password1234") or common.contains("123456789012")
    assert common.contains("Qwertyuiop")  # case-insensitive


def test_good_passphrase_accepted_any_unicode_and_64_chars() -> None:
    assert reasons("correct horse battery staple") == ()
    assert reasons("Grüße aus Köln am Rhein, 2 Tassen") == ()
    assert reasons("w" + "ö-lk3 " * 12)[:0] == ()
    assert not any("too long" in r for r in reasons("x7#Lq" * 13))  # 65 characters


def test_each_refusal_says_why() -> None:
    assert any("too short" in r and "12" in r for r in reasons("Tr0ub4dor&3"))
    assert any("most common" in r for r in reasons("qwertyuiop123"))
    assert any("user name" in r for r in reasons("alice-is-the-best-2024!"))
    assert any("domain" in r for r in reasons("my example mail box 77"))
    assert any("guess" in r for r in reasons("aaaaaaaaaaaaaaaa"))


def test_nfkc_makes_fullwidth_equal_to_ascii() -> None:
    assert any("most common" in r for r in reasons("ｐａｓｓｗｏｒｄ１２３"))


def test_longer_minimum_without_mfa_and_composition_rules() -> None:
    policy = PasswordPolicy(PasswordPolicySettings(min_length_without_mfa=15,
                                                   required_classes=3), [], None)
    r = policy.check(Secret("thirteen char"), username="bob", has_mfa=False).reasons
    assert any("15" in x for x in r) and any("kinds of characters" in x for x in r)
    assert policy.check(Secret("Fifteen chars 1"), username="bob", has_mfa=False).reasons == ()


def test_hibp_file_binary_search(tmp_path: Path) -> None:
    words = [f"secret-{i}" for i in range(500)]
    lines = sorted(hashlib.sha1(w.encode(), usedforsecurity=False).hexdigest().upper() + f":{i}"
                   for i, w in enumerate(words))
    path = tmp_path / "pwned.txt"
    path.write_text("\r\n".join(lines) + "\r\n")
    hibp = HibpFile(path)
    assert all(hibp.contains(w) for w in words)
    assert not any(hibp.contains(f"other-{i}") for i in range(200))


def test_expiry_off_by_default_forced_and_max_age() -> None:
    s = PasswordPolicySettings()
    now = 1_000_000_000.0
    old = PasswordState(UserId(1), now - 400 * 86400, False)
    assert not expiry(old, s, now).is_expired
    assert expiry(PasswordState(UserId(1), now, True), s, now).is_forced
    aged = PasswordPolicySettings(max_age_days=365)
    assert expiry(old, aged, now).is_expired
    assert not expiry(None, aged, now).is_expired
