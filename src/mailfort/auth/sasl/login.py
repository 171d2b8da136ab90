"""SASL LOGIN (draft-murchison-sasl-login), for legacy clients: asks ``Username:`` then
``Password:``."""

from __future__ import annotations

from mailfort.auth.sasl.mechanism import (
    MAX_RESPONSE_BYTES,
    Challenge,
    Credentials,
    PasswordCredentials,
    SaslFailed,
)
from mailfort.core.secret import Secret

__all__ = ["Login"]


class Login:
    name = "LOGIN"

    def __init__(self) -> None:
        self._user: str | None = None
        self._done = False

    def start(self, initial: bytes | None) -> Challenge | Credentials:
        if initial is None or initial == b"":
            return Challenge(b"Username:")
        return self.step(initial)

    def step(self, data: bytes) -> Challenge | Credentials:
        if self._done:
            raise SaslFailed("exchange already finished")
        if len(data) > MAX_RESPONSE_BYTES or b"\0" in data:
            raise SaslFailed("bad response")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SaslFailed("not UTF-8") from exc
        if self._user is None:
            if not text:
                raise SaslFailed("empty user name")
            self._user = text
            return Challenge(b"Password:")
        self._done = True
        if not text:
            raise SaslFailed("empty password")
        return PasswordCredentials(self._user, "", Secret(text))
