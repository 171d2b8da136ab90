"""The SASL mechanisms Mailfort offers, by name. All of them only over TLS."""

from __future__ import annotations

from collections.abc import Callable

from mailfort.auth.sasl.login import Login
from mailfort.auth.sasl.mechanism import Mechanism, SaslFailed
from mailfort.auth.sasl.oauthbearer import OAuthBearer
from mailfort.auth.sasl.plain import Plain
from mailfort.auth.sasl.xoauth2 import XOAuth2

__all__ = ["MECHANISMS", "advertised", "create"]

MECHANISMS: dict[str, Callable[[], Mechanism]] = {
    "PLAIN": Plain, "LOGIN": Login, "OAUTHBEARER": OAuthBearer, "XOAUTH2": XOAuth2,
}


def advertised(*, is_tls: bool) -> tuple[str, ...]:
    """Names for the CAPABILITY response (``AUTH=...``): none without TLS."""
    return tuple(MECHANISMS) if is_tls else ()


def create(name: str, *, is_tls: bool) -> Mechanism:
    """A fresh mechanism for one AUTHENTICATE; SaslFailed for an unknown name or no TLS."""
    factory = MECHANISMS.get(name.upper())
    if factory is None or not is_tls:
        raise SaslFailed("mechanism not available")
    return factory()
