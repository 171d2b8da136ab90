"""Password policy after NIST SP 800-63B §5.1.1.2.

Length counts Unicode code points after NFKC normalisation (any character is allowed, spaces
included); at least 12 by default (15 recommended without MFA), at least 64 always allowed. No
composition rules unless configured. A password is refused when it is a common or breached
password (the shipped list of 100,000+ entries, and optionally an admin's Have-I-Been-Pwned
SHA-1 file), when it contains the user name or the domain, or when its estimated strength
(zxcvbn) is too low. Every refusal is a sentence a user understands.

Expiry is off by default; ``expiry`` tells whether a stored password must be changed.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Protocol

from mailfort.core.secret import Secret
from mailfort.store.security import PasswordState

__all__ = ["PasswordPolicySettings", "PolicyResult", "BreachedList", "CommonPasswords",
           "HibpFile", "Strength", "StrengthEstimator", "ZxcvbnEstimator", "PasswordPolicy",
           "normalize_password", "Expiry", "expiry"]

_MIN_ALLOWED_MAX = 64


def normalize_password(password: str) -> str:
    """NFKC, as 800-63B asks, so the same password typed on two keyboards matches."""
    return unicodedata.normalize("NFKC", password)


@dataclass(frozen=True, slots=True)
class PasswordPolicySettings:
    min_length: int = 12
    min_length_without_mfa: int = 12  # 15 recommended for accounts without MFA
    max_length: int = 1024  # never below 64
    min_strength: int = 3  # zxcvbn score 0..4
    required_classes: int = 0  # composition rules: lower, upper, digit, other (0 = none)
    hibp_file: str = ""  # a sorted Have-I-Been-Pwned "SHA1:count" file
    max_age_days: int = 0  # 0: passwords never expire


@dataclass(frozen=True, slots=True)
class PolicyResult:
    reasons: tuple[str, ...]

    @property
    def is_acceptable(self) -> bool:
        return not self.reasons


class BreachedList(Protocol):
    def contains(self, password: str) -> bool:
        """``password`` is already normalised."""
        ...


class CommonPasswords:
    """The shipped list (``auth/data/common-passwords.txt``), loaded on first use. Matches
    case-insensitively: "Password" is as common as "password"."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._words: frozenset[str] | None = None

    def _load(self) -> frozenset[str]:
        if self._words is None:
            if self._path is not None:
                text = self._path.read_text("utf-8")
            else:
                text = (resources.files("mailfort.auth.data")
                        .joinpath("common-passwords.txt").read_text("utf-8"))
            self._words = frozenset(line for line in text.splitlines() if line)
        return self._words

    def __len__(self) -> int:
        return len(self._load())

    def contains(self, password: str) -> bool:
        return password.casefold() in self._load()


class HibpFile:
    """An admin's Have-I-Been-Pwned password file: lines ``SHA1HEX:count`` sorted by hash
    (the "ordered by hash" download). Looked up by binary search, never loaded whole."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._size = path.stat().st_size

    def contains(self, password: str) -> bool:
        digest = hashlib.sha1(password.encode("utf-8"), usedforsecurity=False)
        target = digest.hexdigest().upper().encode()
        with self._path.open("rb") as f:
            lo, hi = 0, self._size
            while lo < hi:
                mid = (lo + hi) // 2
                f.seek(mid)
                if mid:
                    f.readline()  # move to the start of the next full line
                line = f.readline()
                if not line:
                    hi = mid
                    continue
                key = line[:40].upper()
                if key == target:
                    return True
                if key < target:
                    lo = mid + 1
                else:
                    hi = mid
            f.seek(0)  # lines whose start the search skipped over: check the first one
            return f.readline()[:40].upper() == target


@dataclass(frozen=True, slots=True)
class Strength:
    score: int  # 0 (trivial) .. 4 (very strong)
    hint: str  # a sentence, or ""


class StrengthEstimator(Protocol):
    def estimate(self, password: str, context: Sequence[str]) -> Strength: ...


class ZxcvbnEstimator:
    """zxcvbn's realistic estimate (dictionaries, keyboard patterns, dates, l33t)."""

    _MAX_SCORED = 72  # zxcvbn refuses longer input; the head decides anyway

    def estimate(self, password: str, context: Sequence[str]) -> Strength:
        from zxcvbn import zxcvbn  # type: ignore[import-untyped]

        result = zxcvbn(password[: self._MAX_SCORED], user_inputs=list(context))
        score = int(result["score"])
        feedback = result.get("feedback") or {}
        hint = str(feedback.get("warning") or "")
        return Strength(score, hint)


_CLASSES = ("a lower-case letter", "an upper-case letter", "a digit", "another character")


def _classes(password: str) -> set[int]:
    found: set[int] = set()
    for ch in password:
        if ch.islower():
            found.add(0)
        elif ch.isupper():
            found.add(1)
        elif ch.isdigit():
            found.add(2)
        else:
            found.add(3)
    return found


class PasswordPolicy:
    def __init__(self, settings: PasswordPolicySettings, breached: Sequence[BreachedList],
                 strength: StrengthEstimator | None) -> None:
        self._s = settings
        self._breached = tuple(breached)
        self._strength = strength

    @classmethod
    def default(cls, settings: PasswordPolicySettings | None = None) -> PasswordPolicy:
        s = settings or PasswordPolicySettings()
        lists: list[BreachedList] = [CommonPasswords()]
        if s.hibp_file and os.path.exists(s.hibp_file):
            lists.append(HibpFile(Path(s.hibp_file)))
        return cls(s, lists, ZxcvbnEstimator())

    def check(self, password: Secret[str], *, username: str,
              has_mfa: bool = True) -> PolicyResult:
        pw = normalize_password(password.reveal())
        reasons: list[str] = []
        length = len(pw)
        minimum = self._s.min_length if has_mfa else max(self._s.min_length,
                                                         self._s.min_length_without_mfa)
        maximum = max(self._s.max_length, _MIN_ALLOWED_MAX)
        if length < minimum:
            reasons.append(f"It is too short: use at least {minimum} characters "
                           f"(it has {length}). A few unrelated words make a good password.")
        if length > maximum:
            reasons.append(f"It is too long: use at most {maximum} characters.")
        if self._s.required_classes:
            missing = [_CLASSES[i] for i in range(4) if i not in _classes(pw)]
            if 4 - len(missing) < self._s.required_classes:
                reasons.append(f"It must mix at least {self._s.required_classes} kinds of "
                               f"characters; add {' or '.join(missing)}.")
        folded = pw.casefold()
        local, _, domain = username.casefold().partition("@")
        if len(local) >= 3 and local in folded:
            reasons.append("It contains your user name.")
        domain_label = domain.split(".")[0] if domain else ""
        if len(domain_label) >= 3 and domain_label in folded:
            reasons.append("It contains your mail domain name.")
        if length <= maximum and any(b.contains(pw) for b in self._breached):
            reasons.append("It is one of the most common passwords, or appeared in a known "
                           "data breach, so attackers try it first.")
        elif self._strength is not None and length <= maximum and not reasons:
            context = [c for c in (local, domain, domain_label) if c]
            result = self._strength.estimate(pw, context)
            if result.score < self._s.min_strength:
                hint = f" ({result.hint.rstrip('.')}.)" if result.hint else ""
                reasons.append("It is too easy to guess: it follows a common pattern or "
                               f"word{hint} Make it longer or less predictable.")
        return PolicyResult(tuple(reasons))


@dataclass(frozen=True, slots=True)
class Expiry:
    is_expired: bool
    is_forced: bool  # an admin or a compromise detection asked for a change


def expiry(state: PasswordState | None, settings: PasswordPolicySettings,
           now: float) -> Expiry:
    if state is None:
        return Expiry(False, False)
    if state.must_change:
        return Expiry(True, True)
    if settings.max_age_days > 0 and state.changed_at is not None:
        return Expiry(now - state.changed_at > settings.max_age_days * 86400, False)
    return Expiry(False, False)
