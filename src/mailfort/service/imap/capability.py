"""The capability sets, one per connection situation (RFC 9051 §7.2.2).

Before TLS the server offers STARTTLS and LOGINDISABLED and no AUTH= mechanism; after TLS it
offers SASL-IR and an AUTH= capability per SASL mechanism the session can carry out
(``auth.sasl.advertised``: PLAIN, LOGIN, OAUTHBEARER, XOAUTH2); once authenticated, neither
STARTTLS nor the login capabilities.
"""

from __future__ import annotations

from typing import Final

__all__ = ["BASE", "capabilities", "capability_line"]

BASE: Final = (
    "IMAP4rev1", "IMAP4rev2", "IDLE", "UIDPLUS", "MOVE", "LITERAL+", "NAMESPACE", "ENABLE",
    "ID", "UNSELECT", "SPECIAL-USE", "CHILDREN", "LIST-EXTENDED", "LIST-STATUS",
    "STATUS=SIZE", "ESEARCH", "SEARCHRES", "BINARY",
    # least privilege (issue #6): RFC 4314 ACL with RIGHTS= for k x t e, RFC 9208 QUOTA
    "ACL", "RIGHTS=kxte", "QUOTA", "QUOTA=RES-STORAGE", "QUOTA=RES-MESSAGE",
)


def capabilities(*, is_tls: bool, is_authenticated: bool, is_login_allowed: bool,
                 mechanisms: tuple[str, ...] = ("PLAIN",)) -> tuple[str, ...]:
    """``is_login_allowed``: plaintext login permitted (TLS active, or the loopback exception
    is configured and applies). ``mechanisms``: the SASL mechanisms offered then."""
    if is_authenticated:
        return BASE
    extra: tuple[str, ...] = ()
    if not is_tls:
        extra += ("STARTTLS",)
    if is_login_allowed:
        extra += ("SASL-IR",) + tuple(f"AUTH={m}" for m in mechanisms)
    else:
        extra += ("LOGINDISABLED",)
    return BASE + extra


def capability_line(caps: tuple[str, ...]) -> bytes:
    """The capability-data words, space separated, for ``* CAPABILITY`` and the code."""
    return " ".join(caps).encode("ascii")
