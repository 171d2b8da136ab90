"""SASL XOAUTH2 (Google's): ``user=<user>^Aauth=Bearer <token>^A^A``. On refusal the server
sends a JSON error challenge and the client answers with an empty response, then the exchange
fails."""

from __future__ import annotations

import json

from mailfort.auth.sasl.mechanism import (
    MAX_RESPONSE_BYTES,
    BearerCredentials,
    Challenge,
    Credentials,
    SaslFailed,
)
from mailfort.auth.sasl.oauthbearer import parse_kvpairs
from mailfort.core.secret import Secret

__all__ = ["XOAuth2"]


class XOAuth2:
    name = "XOAUTH2"

    def __init__(self) -> None:
        self._state = "start"

    def start(self, initial: bytes | None) -> Challenge | Credentials:
        if initial is None:
            return Challenge(b"")
        return self.step(initial)

    def step(self, data: bytes) -> Challenge | Credentials:
        if self._state == "failed":
            raise SaslFailed("token refused")
        if self._state != "start":
            raise SaslFailed("exchange already finished")
        self._state = "done"
        if len(data) > MAX_RESPONSE_BYTES:
            raise SaslFailed("response too long")
        pairs = parse_kvpairs(data)
        user = pairs.get("user", "")
        scheme, _, token = pairs.get("auth", "").partition(" ")
        if not user or scheme.lower() != "bearer" or not token.strip():
            raise SaslFailed("XOAUTH2 needs user= and auth=Bearer")
        return BearerCredentials(user, Secret(token.strip()))

    def failure_challenge(self, status: str = "401") -> Challenge:
        self._state = "failed"
        body = {"status": status, "schemes": "Bearer", "scope": "imap"}
        return Challenge(json.dumps(body, separators=(",", ":")).encode())
