"""SASL OAUTHBEARER (RFC 7628).

Client response: ``gs2-header ^A auth=Bearer <token> ^A [key=value ^A]* ^A`` where the GS2
header is ``n,a=<user>,`` (``a=`` optional; ``,`` and ``=`` escaped as ``=2C``/``=3D``).
Channel binding (``p=``) is refused. When the token is refused the server sends an error
challenge (``failure_challenge``) and the client must answer with a single ``^A``; then the
exchange fails (RFC 7628 §3.2.3).
"""

from __future__ import annotations

import json

from mailfort.auth.sasl.mechanism import (
    MAX_RESPONSE_BYTES,
    BearerCredentials,
    Challenge,
    Credentials,
    SaslFailed,
)
from mailfort.core.secret import Secret

__all__ = ["BearerExchange", "OAuthBearer", "parse_kvpairs"]


def parse_kvpairs(data: bytes) -> dict[str, str]:
    """``key=value^A...^A^A`` -> dict (the trailing empty field is required)."""
    if not data.endswith(b"\x01\x01"):
        raise SaslFailed("missing terminator")
    pairs: dict[str, str] = {}
    for field in data[:-2].split(b"\x01"):
        key, sep, value = field.partition(b"=")
        if not sep or not key.isalpha():
            raise SaslFailed("bad key=value pair")
        try:
            pairs[key.decode("ascii").lower()] = value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SaslFailed("not UTF-8") from exc
    return pairs


def _saslname(text: str) -> str:
    if "=" in text.replace("=2C", "").replace("=3D", ""):
        raise SaslFailed("bad escape in user name")
    return text.replace("=2C", ",").replace("=3D", "=")


class BearerExchange:
    """The exchange OAUTHBEARER and XOAUTH2 share: one client response carrying a bearer
    token; on refusal one JSON error challenge, one acknowledging response, then failure.
    Subclasses parse the response (``_parse``) and shape the error (``_error_body``)."""

    name = ""

    def __init__(self) -> None:
        self._state = "start"  # start -> done | failed (awaiting the client's acknowledgement)

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
        return self._parse(data)

    def failure_challenge(self, status: str | None = None) -> Challenge:
        """The error to send when the token is refused; the client's next response must be
        an acknowledgement and then ``step`` raises SaslFailed."""
        self._state = "failed"
        body = self._error_body(status)
        return Challenge(json.dumps(body, separators=(",", ":")).encode())

    def _parse(self, data: bytes) -> BearerCredentials:
        raise NotImplementedError

    def _error_body(self, status: str | None) -> dict[str, str]:
        raise NotImplementedError


class OAuthBearer(BearerExchange):
    name = "OAUTHBEARER"

    def _parse(self, data: bytes) -> BearerCredentials:
        header, sep, rest = data.partition(b"\x01")
        if not sep:
            raise SaslFailed("missing GS2 header")
        fields = header.split(b",")
        if len(fields) != 3 or fields[0] not in (b"n", b"y") or fields[2] != b"":
            raise SaslFailed("bad GS2 header")
        user = ""
        if fields[1]:
            if not fields[1].startswith(b"a="):
                raise SaslFailed("bad authzid")
            try:
                user = _saslname(fields[1][2:].decode("utf-8"))
            except UnicodeDecodeError as exc:
                raise SaslFailed("not UTF-8") from exc
        pairs = parse_kvpairs(rest)
        auth = pairs.get("auth", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise SaslFailed("no bearer token")
        return BearerCredentials(user, Secret(token.strip()))

    def _error_body(self, status: str | None) -> dict[str, str]:
        return {"status": status or "invalid_token", "schemes": "bearer", "scope": "imap"}
