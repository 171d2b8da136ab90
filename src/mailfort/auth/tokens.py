"""Bearer tokens Mailfort issues for OAUTHBEARER (RFC 7628) and XOAUTH2.

Issued after a password and a second factor (CLI now, the console later), short-lived (1 hour by
default, 24 at most), signed with Ed25519, verified locally (signature, time, scope, and the
issued-token record, so a token can be revoked before it expires).

Wire form: ``mft1.<base64url(JSON claims)>.<base64url(signature)>``; the signature covers
``mft1.<claims>``. Claims: sub (login name), uid, jti, iat, exp, scope.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from dataclasses import dataclass
from enum import Enum

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from mailfort.audit.events import EventSink, TokenIssued, TokenRevoked
from mailfort.core.clock import Clock
from mailfort.core.errors import MailfortError
from mailfort.core.secret import Secret
from mailfort.store.security import IssuedToken, Tokens
from mailfort.store.types import User, UserId

__all__ = ["TokenInvalid", "TokenProblem", "TokenClaims", "TokenKey", "TokenService",
           "TOKEN_PREFIX"]

TOKEN_PREFIX = "mft1."  # noqa: S105 - a format tag
_MAX_TOKEN_CHARS = 2048
_LEEWAY_S = 60


class TokenProblem(Enum):
    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    WRONG_SCOPE = "wrong_scope"
    WRONG_USER = "wrong_user"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


class TokenInvalid(MailfortError):
    def __init__(self, problem: TokenProblem) -> None:
        super().__init__(f"token refused: {problem.value}")
        self.problem = problem


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user: str
    user_id: UserId
    token_id: str
    issued_at: float
    expires_at: float
    scope: str


class TokenKey:
    """The signing key (kept in the data directory, readable by the service alone)."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private = private_key
        self._public: Ed25519PublicKey = private_key.public_key()

    @classmethod
    def generate(cls) -> TokenKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_bytes(cls, raw: bytes) -> TokenKey:
        return cls(Ed25519PrivateKey.from_private_bytes(raw))

    def to_bytes(self) -> bytes:
        return self._private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())

    def sign(self, data: bytes) -> bytes:
        return self._private.sign(data)

    def verify(self, signature: bytes, data: bytes) -> bool:
        try:
            self._public.verify(signature, data)
        except InvalidSignature:
            return False
        return True


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenService:
    def __init__(self, key: TokenKey, store: Tokens, clock: Clock, sink: EventSink, *,
                 ttl_s: float = 3600, max_ttl_s: float = 24 * 3600) -> None:
        self._key = key
        self._store = store
        self._clock = clock
        self._sink = sink
        self._ttl_s = ttl_s
        self._max_ttl_s = max_ttl_s

    async def issue(self, user: User, *, ttl_s: float | None = None, scope: str = "imap",
                    ) -> tuple[IssuedToken, Secret[str]]:
        """Call only after the password and a second factor were checked."""
        now = int(self._clock.now())
        ttl = min(self._max_ttl_s, ttl_s if ttl_s is not None else self._ttl_s)
        record = IssuedToken(secrets.token_hex(16), user.id, float(now), float(now + int(ttl)),
                             None)
        claims = {"sub": user.name, "uid": int(user.id), "jti": record.id, "iat": now,
                  "exp": int(record.expires_at), "scope": scope}
        body = TOKEN_PREFIX + _b64(json.dumps(claims, separators=(",", ":")).encode())
        token = body + "." + _b64(self._key.sign(body.encode("ascii")))
        await self._store.add(record)
        self._sink.emit(TokenIssued(float(now), user.name, record.id, record.expires_at))
        return record, Secret(token)

    def _claims(self, token: str) -> TokenClaims:
        if len(token) > _MAX_TOKEN_CHARS or not token.startswith(TOKEN_PREFIX):
            raise TokenInvalid(TokenProblem.MALFORMED)
        body, sep, sig = token.rpartition(".")
        if not sep or body.count(".") != 1:
            raise TokenInvalid(TokenProblem.MALFORMED)
        try:
            signature = _unb64(sig)
            raw = _unb64(body[len(TOKEN_PREFIX):])
        except (ValueError, binascii.Error) as exc:
            raise TokenInvalid(TokenProblem.MALFORMED) from exc
        if not self._key.verify(signature, body.encode("ascii")):
            raise TokenInvalid(TokenProblem.BAD_SIGNATURE)
        try:
            data = json.loads(raw)
            return TokenClaims(str(data["sub"]), UserId(int(data["uid"])), str(data["jti"]),
                               float(data["iat"]), float(data["exp"]), str(data["scope"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise TokenInvalid(TokenProblem.MALFORMED) from exc

    async def verify(self, token: Secret[str], *, user: str | None = None,
                     scope: str = "imap") -> TokenClaims:
        """The token's claims, or TokenInvalid saying why (for the audit trail)."""
        claims = self._claims(token.reveal())
        now = self._clock.now()
        if now >= claims.expires_at:
            raise TokenInvalid(TokenProblem.EXPIRED)
        if claims.issued_at > now + _LEEWAY_S:
            raise TokenInvalid(TokenProblem.NOT_YET_VALID)
        if claims.scope != scope:
            raise TokenInvalid(TokenProblem.WRONG_SCOPE)
        if user and user.casefold() != claims.user.casefold():
            raise TokenInvalid(TokenProblem.WRONG_USER)
        record = await self._store.get(claims.token_id)
        if record is None or record.user_id != claims.user_id:
            raise TokenInvalid(TokenProblem.UNKNOWN)
        if record.revoked_at is not None:
            raise TokenInvalid(TokenProblem.REVOKED)
        return claims

    async def revoke(self, user: User, token_id: str) -> bool:
        record = await self._store.get(token_id)
        if record is None or record.user_id != user.id:
            return False
        done = await self._store.revoke(token_id, self._clock.now())
        if done:
            self._sink.emit(TokenRevoked(self._clock.now(), user.name, token_id))
        return done

    async def revoke_all(self, user: User) -> int:
        return await self._store.revoke_all(user.id, self._clock.now())
