from __future__ import annotations

import base64
import hashlib
import warnings

import bcrypt
import pytest
from argon2 import PasswordHasher, Type

from mailfort.auth.legacy import (
    ImportAction,
    LegacyHashError,
    decide_import,
    parse_passwd_line,
    sha_crypt,
    verify_legacy,
)
from mailfort.core.secret import Secret

# Known answers from Drepper's SHA-crypt specification.
KNOWN = [
    ("$5$saltstring", b"Hello world!",
     "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"),
    ("$6$saltstring", b"Hello world!",
     "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCo"
     "EOfaS35inz1"),
    ("$6$rounds=10000$saltstringsaltstring", b"Hello world!",
     "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8v"
     "OuZeHBy/YTBmSK6H9qs/y3RnOaw5v."),
    ("$5$rounds=5000$toolongsaltstring", b"This is just a test",
     "$5$rounds=5000$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5"),
]


@pytest.mark.parametrize(("setting", "password", "expected"), KNOWN)
def test_sha_crypt_known_answers(setting: str, password: bytes, expected: str) -> None:
    assert sha_crypt(password, setting) == expected


def test_sha_crypt_matches_platform_crypt_when_present() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        crypt = pytest.importorskip("crypt")
    for pw in ["", "x", "pässwörd", "a" * 100]:
        for setting in ("$6$abc", "$5$rounds=1000$0123456789abcdefXYZ"):
            ref = crypt.crypt(pw, setting)
            assert sha_crypt(pw.encode(), ref) == ref


def test_verify_each_scheme() -> None:
    pw = Secret("s3cret pass")
    bad = Secret("wrong")
    salt = b"NaCl1234"
    ssha = base64.b64encode(hashlib.sha512(b"s3cret pass" + salt).digest() + salt).decode()
    stored = [
        "{SHA512-CRYPT}" + sha_crypt(b"s3cret pass", "$6$rounds=5000$abcdefgh"),
        "{SHA256-CRYPT}" + sha_crypt(b"s3cret pass", "$5$abcdefgh"),
        "{BLF-CRYPT}" + bcrypt.hashpw(b"s3cret pass", bcrypt.gensalt(4)).decode(),
        "{ARGON2ID}" + PasswordHasher(time_cost=1, memory_cost=1024,
                                      type=Type.ID).hash("s3cret pass"),
        "{ARGON2I}" + PasswordHasher(time_cost=1, memory_cost=1024,
                                     type=Type.I).hash("s3cret pass"),
        "{SSHA512}" + ssha,
    ]
    for s in stored:
        assert verify_legacy(s, pw), s
        assert not verify_legacy(s, bad), s
    # a scheme label that does not match the value never verifies
    assert not verify_legacy("{ARGON2I}" + stored[3][len("{ARGON2ID}"):], pw)
    assert not verify_legacy("{PLAIN}s3cret pass", pw)  # plaintext is never accepted


def test_import_decisions() -> None:
    assert decide_import("{SHA512-CRYPT}$6$x$y").action is ImportAction.KEEP
    refused = decide_import("{PLAIN}hunter2")
    assert refused.action is ImportAction.REFUSE and "plain text" in refused.message
    allowed = decide_import("{PLAIN}hunter2", allow_plaintext=True)
    assert allowed.action is ImportAction.HASH_NOW and allowed.plaintext == Secret("hunter2")
    cram = decide_import("{CRAM-MD5}abcd", allow_plaintext=True)
    assert cram.action is ImportAction.REFUSE and "cannot be converted" in cram.message
    assert decide_import("{MD5-CRYPT}$1$x").action is ImportAction.REFUSE
    assert decide_import("nobrace").action is ImportAction.REFUSE


def test_parse_passwd_lines() -> None:
    e = parse_passwd_line("alice@example.com:{SHA512-CRYPT}$6$s$h:1000:1000::/home/a::\n")
    assert e is not None and e.user == "alice@example.com"
    assert e.password_hash == "{SHA512-CRYPT}$6$s$h"  # noqa: S105
    assert parse_passwd_line("# comment") is None and parse_passwd_line("  ") is None
    plain = parse_passwd_line("bob:hunter2")
    assert plain is not None and plain.password_hash == "{PLAIN}hunter2"  # noqa: S105
    with pytest.raises(LegacyHashError):
        parse_passwd_line("no-colon-here")
