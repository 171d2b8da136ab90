"""Listening sockets: the plain+STARTTLS port and the implicit-TLS port (RFC 8314)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from mailfort.core.errors import ConfigError

__all__ = ["Endpoint", "parse_listen", "open_listener", "bound_addresses"]

_BACKLOG: Final = 512
_TLS_HANDSHAKE_TIMEOUT_S: Final = 30.0


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One configured listener. ``kind`` is ``"imap"`` (plain + STARTTLS) or ``"imaps"``."""

    host: str
    port: int
    kind: str


def parse_listen(value: str, key: str, kind: str) -> Endpoint | None:
    """``HOST:PORT`` (``[v6]:PORT``); port 0 picks a free port; empty disables."""
    if not value:
        return None
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ConfigError(key, "expected HOST:PORT")
    return Endpoint(host, int(port), kind)


def handshake_timeout_s(pre_auth_timeout_s: float) -> float:
    """A TLS handshake is pre-authentication time: it never outlasts the pre-auth timeout, and
    never 30 s (SECURITY.md row 6, CVE-2014-3430)."""
    return min(_TLS_HANDSHAKE_TIMEOUT_S, pre_auth_timeout_s)


async def open_listener(endpoint: Endpoint, factory: Callable[[], asyncio.Protocol],
                        ssl_context: ssl.SSLContext | None,
                        handshake_timeout: float = _TLS_HANDSHAKE_TIMEOUT_S) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        factory, endpoint.host, endpoint.port, ssl=ssl_context, backlog=_BACKLOG,
        reuse_address=True,
        ssl_handshake_timeout=handshake_timeout if ssl_context is not None else None)


def bound_addresses(server: asyncio.Server, kind: str) -> list[tuple[str, int, str]]:
    """The (host, port, kind) triples a server actually listens on."""
    out: list[tuple[str, int, str]] = []
    for sock in server.sockets:
        name = sock.getsockname()
        out.append((str(name[0]), int(name[1]), kind))
    return out
