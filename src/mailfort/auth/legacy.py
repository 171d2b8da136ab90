"""Verify password hashes imported from a Dovecot passwd-file (or CSV), natively.

Supported schemes: {SHA512-CRYPT} and {SHA256-CRYPT} (SHA-crypt, implemented here from
Drepper's specification, so no dependency on the platform's crypt(3)), {BLF-CRYPT} (bcrypt),
{ARGON2ID} and {ARGON2I} (argon2-cffi), {SSHA512} (salted SHA-512). An imported hash is kept as
``{SCHEME}value`` in the user's password hash and replaced by Argon2id at the first successful
login (``needs_upgrade``).

Plaintext and reversible schemes ({PLAIN}, {CLEAR}, {CRAM-MD5}, ...) are refused at import with
a clear message; with ``allow_plaintext`` a {PLAIN} password is hashed with Argon2id at import
and reported. {CRAM-MD5} stores an HMAC-MD5 state, not the password, so it can never be
converted: such users need a new password.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from enum import Enum

import bcrypt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from mailfort.core.errors import MailfortError
from mailfort.core.secret import Secret

__all__ = ["Scheme", "ImportAction", "ImportDecision", "PasswdEntry", "LegacyHashError",
           "split_scheme", "is_legacy", "verify_legacy", "decide_import", "parse_passwd_line",
           "sha_crypt"]

_MAX_PASSWORD_BYTES = 4096


class LegacyHashError(MailfortError):
    """A stored hash cannot be parsed or uses a scheme Mailfort does not verify."""


class Scheme(Enum):
    SHA512_CRYPT = "SHA512-CRYPT"
    SHA256_CRYPT = "SHA256-CRYPT"
    BLF_CRYPT = "BLF-CRYPT"
    ARGON2ID = "ARGON2ID"
    ARGON2I = "ARGON2I"
    SSHA512 = "SSHA512"
    PLAIN = "PLAIN"
    CRAM_MD5 = "CRAM-MD5"


_VERIFIABLE = frozenset({Scheme.SHA512_CRYPT, Scheme.SHA256_CRYPT, Scheme.BLF_CRYPT,
                         Scheme.ARGON2ID, Scheme.ARGON2I, Scheme.SSHA512})
_PLAINTEXT_NAMES = frozenset({"PLAIN", "CLEAR", "CLEARTEXT", "PLAIN-TRUNC"})
_REVERSIBLE_NAMES = frozenset({"CRAM-MD5", "HMAC-MD5", "DIGEST-MD5", "PLAIN-MD5", "LDAP-MD5",
                               "SCRAM-SHA-1", "SCRAM-SHA-256"})


def split_scheme(stored: str) -> tuple[str, str]:
    """``{SCHEME}value`` -> (SCHEME upper-cased, value). Dovecot's ``.b64``/``.hex``
    encoding suffixes are kept in the scheme name."""
    if not stored.startswith("{") or "}" not in stored:
        raise LegacyHashError("no {SCHEME} prefix")
    end = stored.index("}")
    return stored[1:end].upper(), stored[end + 1:]


def is_legacy(stored: str) -> bool:
    """True for an imported ``{SCHEME}`` hash (Argon2id PHC strings start with ``$``)."""
    return stored.startswith("{")


# -- SHA-crypt (https://www.akkadia.org/drepper/SHA-crypt.txt) --------------------------------

_ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ROUNDS_DEFAULT = 5000


def _b64_24(b2: int, b1: int, b0: int, n: int) -> str:
    w = (b2 << 16) | (b1 << 8) | b0
    out = []
    for _ in range(n):
        out.append(_ITOA64[w & 0x3F])
        w >>= 6
    return "".join(out)


def _encode(digest: bytes, is_512: bool) -> str:
    parts: list[str] = []
    if is_512:
        n = 21
        for k in range(n):
            a, b, c = digest[k], digest[k + n], digest[k + 2 * n]
            triple = ((a, b, c), (b, c, a), (c, a, b))[k % 3]
            parts.append(_b64_24(*triple, 4))
        parts.append(_b64_24(0, 0, digest[63], 2))
    else:
        n = 10
        for k in range(n):
            a, b, c = digest[k], digest[k + n], digest[k + 2 * n]
            triple = ((a, b, c), (c, a, b), (b, c, a))[k % 3]
            parts.append(_b64_24(*triple, 4))
        parts.append(_b64_24(0, digest[31], digest[30], 3))
    return "".join(parts)


def _repeat(block: bytes, length: int) -> bytes:
    return (block * (length // len(block) + 1))[:length]


def sha_crypt(password: bytes, setting: str) -> str:
    """SHA-crypt of ``password`` with ``setting`` (``$6$[rounds=N$]salt[$...]`` or ``$5$...``);
    returns the full crypt string, comparable to the stored one."""
    if setting.startswith("$6$"):
        is_512, new = True, hashlib.sha512
    elif setting.startswith("$5$"):
        is_512, new = False, hashlib.sha256
    else:
        raise LegacyHashError("not a SHA-crypt string")
    rest = setting[3:]
    rounds = _ROUNDS_DEFAULT
    has_rounds = False
    if rest.startswith("rounds="):
        spec, _, rest = rest.partition("$")
        try:
            rounds = int(spec[len("rounds="):])
        except ValueError as exc:
            raise LegacyHashError("bad rounds") from exc
        rounds = min(max(rounds, 1000), 999_999_999)
        has_rounds = True
    salt = rest.split("$", 1)[0][:16].encode("ascii", "replace")
    p = password
    hash_len = 64 if is_512 else 32

    b = new(p + salt + p).digest()
    a_ctx = new(p + salt)
    cnt = len(p)
    while cnt > hash_len:
        a_ctx.update(b)
        cnt -= hash_len
    a_ctx.update(b[:cnt])
    cnt = len(p)
    while cnt > 0:
        a_ctx.update(b if cnt & 1 else p)
        cnt >>= 1
    a = a_ctx.digest()

    dp = new(p * len(p)).digest()
    p_seq = _repeat(dp, len(p)) if p else b""
    ds = new(salt * (16 + a[0])).digest()
    s_seq = _repeat(ds, len(salt)) if salt else b""

    c = a
    for i in range(rounds):
        ctx = new(p_seq if i & 1 else c)
        if i % 3:
            ctx.update(s_seq)
        if i % 7:
            ctx.update(p_seq)
        ctx.update(c if i & 1 else p_seq)
        c = ctx.digest()
    prefix = "$6$" if is_512 else "$5$"
    rounds_part = f"rounds={rounds}$" if has_rounds else ""
    return f"{prefix}{rounds_part}{salt.decode('ascii')}${_encode(c, is_512)}"


# -- verification ---------------------------------------------------------------------------

def _scheme(name: str) -> Scheme:
    base = name.split(".", 1)[0]
    for scheme in Scheme:
        if scheme.value == base:
            return scheme
    if base in _PLAINTEXT_NAMES:
        return Scheme.PLAIN
    if base in _REVERSIBLE_NAMES:
        return Scheme.CRAM_MD5
    raise LegacyHashError(f"unsupported password scheme {{{base}}}")


def _decode_value(name: str, value: str) -> bytes:
    if name.endswith(".HEX"):
        return binascii.unhexlify(value)
    return base64.b64decode(value, validate=True)


def verify_legacy(stored: str, password: Secret[str]) -> bool:
    """Check ``password`` against an imported ``{SCHEME}value``. Plaintext and reversible
    schemes are never verified (they are refused at import)."""
    name, value = split_scheme(stored)
    scheme = _scheme(name)
    raw = password.reveal().encode("utf-8")
    if len(raw) > _MAX_PASSWORD_BYTES:
        return False
    if scheme in (Scheme.SHA512_CRYPT, Scheme.SHA256_CRYPT):
        expected = "$6$" if scheme is Scheme.SHA512_CRYPT else "$5$"
        if not value.startswith(expected):
            return False
        return hmac.compare_digest(sha_crypt(raw, value).encode(), value.encode())
    if scheme is Scheme.BLF_CRYPT:
        try:
            return bcrypt.checkpw(raw[:72], value.encode("ascii"))
        except ValueError:
            return False
    if scheme in (Scheme.ARGON2ID, Scheme.ARGON2I):
        prefix = "$argon2id$" if scheme is Scheme.ARGON2ID else "$argon2i$"
        if not value.startswith(prefix):
            return False
        try:
            return PasswordHasher().verify(value, raw)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
    if scheme is Scheme.SSHA512:
        try:
            blob = _decode_value(name, value)
        except (ValueError, binascii.Error):
            return False
        if len(blob) <= 64:
            return False
        digest, salt = blob[:64], blob[64:]
        return hmac.compare_digest(hashlib.sha512(raw + salt).digest(), digest)
    return False


# -- import ---------------------------------------------------------------------------------

class ImportAction(Enum):
    KEEP = "keep"  # store as is; verified natively and upgraded at the first login
    HASH_NOW = "hash_now"  # plaintext allowed by flag: hash with Argon2id now and report it
    REFUSE = "refuse"


@dataclass(frozen=True, slots=True)
class ImportDecision:
    action: ImportAction
    scheme: Scheme | None
    message: str  # words for the import report ("" for KEEP)
    plaintext: Secret[str] | None = None  # for HASH_NOW only


def decide_import(stored: str, *, allow_plaintext: bool = False) -> ImportDecision:
    try:
        name, value = split_scheme(stored)
        scheme = _scheme(name)
    except LegacyHashError as exc:
        return ImportDecision(ImportAction.REFUSE, None, f"refused: {exc}")
    if scheme in _VERIFIABLE:
        return ImportDecision(ImportAction.KEEP, scheme, "")
    if scheme is Scheme.PLAIN:
        if allow_plaintext:
            return ImportDecision(ImportAction.HASH_NOW, scheme,
                                  "the password was stored in plain text; it was hashed with "
                                  "Argon2id at import. Ask the user to change it.",
                                  Secret(value))
        return ImportDecision(ImportAction.REFUSE, scheme,
                              "refused: the password is stored in plain text ({PLAIN}); "
                              "import with --allow-plaintext to hash it now, or set a new "
                              "password")
    return ImportDecision(ImportAction.REFUSE, scheme,
                          f"refused: {{{name}}} stores a reversible secret, not a password "
                          "hash, and cannot be converted; set a new password for this user")


@dataclass(frozen=True, slots=True)
class PasswdEntry:
    user: str
    password_hash: str  # "{SCHEME}value"


def parse_passwd_line(line: str, *, default_scheme: str = "PLAIN") -> PasswdEntry | None:
    """One line of a Dovecot passwd-file: ``user:password:uid:gid:gecos:home:shell:extra``.
    Blank lines and comments give None. A password without ``{SCHEME}`` uses Dovecot's
    default scheme (``default_pass_scheme``), PLAIN unless told otherwise."""
    text = line.rstrip("\r\n")
    if not text.strip() or text.lstrip().startswith("#"):
        return None
    user, sep, rest = text.partition(":")
    if not sep or not user:
        raise LegacyHashError("a line must start with user:password")
    password = rest.split(":", 1)[0]
    if not password.startswith("{"):
        password = "{" + default_scheme.upper() + "}" + password
    return PasswdEntry(user, password)
