"""SASL PLAIN (RFC 4616): ``[authzid] NUL authcid NUL passwd``, UTF-8."""

from __future__ import annotations

from mailfort.auth.sasl.mechanism import (
    MAX_RESPONSE_BYTES,
    Challenge,
    Credentials,
    PasswordCredentials,
    SaslAuthorizationRefused,
    SaslFailed,
)
from mailfort.core.secret import Secret

__all__ = ["Plain"]


class Plain:
    name = "PLAIN"

    def __init__(self) -> None:
        self._done = False

    def start(self, initial: bytes | None) -> Challenge | Credentials:
        if initial is None:
            return Challenge(b"")
        return self.step(initial)

    def step(self, data: bytes) -> Challenge | Credentials:
        if self._done:
            raise SaslFailed("exchange already finished")
        self._done = True
        if len(data) > MAX_RESPONSE_BYTES:
            raise SaslFailed("response too long")
        parts = data.split(b"\0")
        if len(parts) != 3:
            raise SaslFailed("PLAIN needs authzid NUL authcid NUL password")
        try:
            authzid, authcid, password = (p.decode("utf-8") for p in parts)
        except UnicodeDecodeError as exc:
            raise SaslFailed("not UTF-8") from exc
        if not authcid or not password:
            raise SaslFailed("empty user name or password")
        if authzid and authzid != authcid:
            raise SaslAuthorizationRefused("acting as another user is not allowed")
        return PasswordCredentials(authcid, authzid, Secret(password))
