"""SASL XOAUTH2 (Google's): ``user=<user>^Aauth=Bearer <token>^A^A``. On refusal the server
sends a JSON error challenge and the client answers with an empty response, then the exchange
fails."""

from __future__ import annotations

from mailfort.auth.sasl.mechanism import BearerCredentials, SaslFailed
from mailfort.auth.sasl.oauthbearer import BearerExchange, parse_kvpairs
from mailfort.core.secret import Secret

__all__ = ["XOAuth2"]


class XOAuth2(BearerExchange):
    name = "XOAUTH2"

    def _parse(self, data: bytes) -> BearerCredentials:
        pairs = parse_kvpairs(data)
        user = pairs.get("user", "")
        scheme, _, token = pairs.get("auth", "").partition(" ")
        if not user or scheme.lower() != "bearer" or not token.strip():
            raise SaslFailed("XOAUTH2 needs user= and auth=Bearer")
        return BearerCredentials(user, Secret(token.strip()))

    def _error_body(self, status: str | None) -> dict[str, str]:
        return {"status": status or "401", "schemes": "Bearer", "scope": "imap"}
