"""``serve``: start the IMAP listeners, run until cancelled or SIGTERM, then drain.

Signals (only when running in the main thread): SIGTERM/SIGINT stop the server, SIGHUP reloads
the TLS certificate and key in place (new connections get the new certificate).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import threading
from collections.abc import Callable
from typing import Final

from mailfort.config.model import Settings
from mailfort.imap.limits import ProtocolLimits
from mailfort.server.imap import (
    ConnectionContextFilter,
    ConnectionGate,
    ImapProtocol,
    ImapServerContext,
)
from mailfort.server.listener import Endpoint, bound_addresses, open_listener, parse_listen
from mailfort.server.tls import TlsContext, ensure_tls_material
from mailfort.service.imap.session import PasswordAuthenticator
from mailfort.store.api import MailStore

__all__ = ["serve", "DRAIN_TIMEOUT_S"]

log = logging.getLogger(__name__)

DRAIN_TIMEOUT_S: Final = 5.0


async def serve(settings: Settings, store: MailStore, authenticator: PasswordAuthenticator,
                tls: TlsContext | None = None, *,
                ready: Callable[[list[tuple[str, int, str]]], None] | None = None,
                stop: asyncio.Event | None = None) -> None:
    """Serve IMAP until cancelled, until ``stop`` is set, or until SIGTERM/SIGINT.

    ``settings.server.imap_listen`` (plain, STARTTLS required before login) and
    ``imaps_listen`` (implicit TLS) are ``HOST:PORT``; port 0 picks a free port; an empty value
    disables that listener. ``tls`` is the live certificate holder (``server.tls.TlsContext``);
    when None, one is built from ``ensure_tls_material(settings)`` (the configured files, or a
    self-signed certificate generated in ``data_dir/tls``). ``ready`` is called once every
    listener is bound, with ``[(host, port, "imap" | "imaps"), ...]`` as actually bound.

    On the way out the listeners close first, then every session is cancelled (each says
    ``* BYE [UNAVAILABLE]``) and awaited for at most DRAIN_TIMEOUT_S. The store and the
    authenticator are the caller's to close.
    """
    _install_log_context()
    if tls is None:
        material = await asyncio.to_thread(ensure_tls_material, settings)
        tls = TlsContext(material, settings.tls.min_version)
    holder = tls
    ctx = ImapServerContext(
        settings=settings, store=store, authenticator=authenticator,
        ssl_context=lambda: holder.context,
        gate=ConnectionGate(settings.server.max_connections,
                            settings.server.max_connections_per_ip),
        tasks=set(), limits=_protocol_limits(settings))
    endpoints = [e for e in (
        parse_listen(settings.server.imap_listen, "server.imap_listen", "imap"),
        parse_listen(settings.server.imaps_listen, "server.imaps_listen", "imaps"),
    ) if e is not None]
    servers: list[asyncio.Server] = []
    addresses: list[tuple[str, int, str]] = []
    stop_event = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    try:
        for ep in endpoints:
            server = await open_listener(ep, _factory(ctx, ep), holder.context
                                         if ep.kind == "imaps" else None)
            servers.append(server)
            addresses += bound_addresses(server, ep.kind)
        if threading.current_thread() is threading.main_thread():
            for sig, fn in ((signal.SIGTERM, stop_event.set), (signal.SIGINT, stop_event.set),
                            (signal.SIGHUP, lambda: _reload(holder))):
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.add_signal_handler(sig, fn)
                    installed.append(sig)
        for host, port, kind in addresses:
            log.info("listening on %s port %d (%s)", host, port, kind)
        if ready is not None:
            ready(addresses)
        await stop_event.wait()
    finally:
        for sig in installed:
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)
        for server in servers:
            server.close()
        tasks = list(ctx.tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=DRAIN_TIMEOUT_S)
        for server in servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), DRAIN_TIMEOUT_S)
        log.info("server stopped")


def _factory(ctx: ImapServerContext, ep: Endpoint) -> Callable[[], asyncio.Protocol]:
    is_tls = ep.kind == "imaps"
    return lambda: ImapProtocol(ctx, is_implicit_tls=is_tls)


def _reload(tls: TlsContext) -> None:
    try:
        material = tls.reload()
    except Exception:
        log.exception("TLS certificate reload failed; keeping the old certificate")
        return
    log.info("TLS certificate reloaded (SHA-256 %s)", material.fingerprint_sha256)


def _install_log_context() -> None:
    """Put ``conn_id``/``peer``/``user`` on records of every root handler (once each), so a
    format string may use them whatever the CLI configured."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, ConnectionContextFilter) for f in handler.filters):
            handler.addFilter(ConnectionContextFilter())


def _protocol_limits(settings: Settings) -> ProtocolLimits:
    """The core's limits, with the over-long-line discard budget bounded: a line past
    ``max_line_bytes`` is swallowed up to 4 times that (256 KiB by default), then the
    connection ends (SECURITY.md #10), instead of up to the message size."""
    limits = ProtocolLimits.from_settings(settings.limits)
    bound = 4 * settings.limits.max_line_bytes
    return dataclasses.replace(limits, max_discard_bytes=min(limits.max_discard_bytes, bound))
