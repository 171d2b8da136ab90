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

from mailfort.auth.login import LoginService
from mailfort.config.model import Settings
from mailfort.guard.guard import Guard
from mailfort.imap.limits import ProtocolLimits
from mailfort.server.imap import (
    ConnectionContextFilter,
    ConnectionGate,
    ImapProtocol,
    ImapServerContext,
)
from mailfort.server.listener import (
    Endpoint,
    bound_addresses,
    handshake_timeout_s,
    open_listener,
    parse_listen,
)
from mailfort.server.tls import TlsContext, ensure_tls_material
from mailfort.service.imap.audit import AuditHooks
from mailfort.service.imap.session import PasswordAuthenticator
from mailfort.store.acl import AclStore
from mailfort.store.api import MailStore

__all__ = ["serve", "DRAIN_TIMEOUT_S"]

log = logging.getLogger(__name__)

DRAIN_TIMEOUT_S: Final = 5.0


async def serve(settings: Settings, store: MailStore, authenticator: PasswordAuthenticator,
                tls: TlsContext | None = None, *,
                ready: Callable[[list[tuple[str, int, str]]], None] | None = None,
                stop: asyncio.Event | None = None, guard: Guard | None = None,
                login_service: LoginService | None = None, audit: AuditHooks | None = None,
                on_reload: Callable[[], None] | None = None,
                acl: AclStore | None = None) -> None:
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

    Account security (issue #3): with ``guard`` every connection passes
    ``guard.check_connect`` before the greeting (refused: ``* BYE [UNAVAILABLE]`` or
    ``* BYE [LIMIT]``), counts against the user after login and is released at close; bans
    whose time is up are dropped, the guard's counters written and the CLI's bans, unbans
    and unlocks read every ``[guard] state_sync_interval_s`` and on SIGHUP (``Guard.sync``).
    With ``login_service`` LOGIN and AUTHENTICATE (PLAIN, LOGIN, OAUTHBEARER, XOAUTH2) go
    through it instead of ``authenticator``. Both come from ``cli.bootstrap.build_security``.

    The audit layer (issue #4): with ``audit`` (``cli.bootstrap``'s hooks over the running
    audit bus) sessions emit their events, count metrics and obey alert actions; None emits
    nothing. ``on_reload`` is called after each SIGHUP reload (the CLI audits it).
    """
    _install_log_context()
    if tls is None:
        material = await asyncio.to_thread(ensure_tls_material, settings)
        tls = TlsContext(material, settings.tls.min_version)
    holder = tls
    ctx = ImapServerContext(
        settings=settings, store=store,
        authenticator=login_service if login_service is not None else authenticator,
        ssl_context=lambda: holder.context,
        gate=ConnectionGate(settings.server.max_connections),
        tasks=set(), limits=_protocol_limits(settings), guard=guard, bearer=login_service,
        audit=audit, acl=acl)
    endpoints = [e for e in (
        parse_listen(settings.server.imap_listen, "server.imap_listen", "imap"),
        parse_listen(settings.server.imaps_listen, "server.imaps_listen", "imaps"),
    ) if e is not None]
    servers: list[asyncio.Server] = []
    addresses: list[tuple[str, int, str]] = []
    stop_event = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    expiring = (loop.create_task(_sync_guard(guard, settings.guard.state_sync_interval_s),
                                 name="guard-sync")
                if guard is not None else None)
    hup_syncs: set[asyncio.Task[None]] = set()
    try:
        for ep in endpoints:
            server = await open_listener(
                ep, _factory(ctx, ep), holder.context if ep.kind == "imaps" else None,
                handshake_timeout_s(settings.server.pre_auth_timeout_s))
            servers.append(server)
            addresses += bound_addresses(server, ep.kind)
        if threading.current_thread() is threading.main_thread():
            for sig, fn in ((signal.SIGTERM, stop_event.set), (signal.SIGINT, stop_event.set),
                            (signal.SIGHUP, lambda: _on_hup(holder, on_reload, guard,
                                                            hup_syncs))):
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.add_signal_handler(sig, fn)
                    installed.append(sig)
        for host, port, kind in addresses:
            log.info("listening on %s port %d (%s)", host, port, kind)
        if ready is not None:
            ready(addresses)
        await stop_event.wait()
    finally:
        if expiring is not None:
            expiring.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await expiring
        for hup in list(hup_syncs):
            hup.cancel()
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


async def _sync_guard(guard: Guard, interval_s: float) -> None:
    """Guard state shared with the CLI and kept across restarts: every ``interval_s`` write
    the changed failure counters (one batched transaction) and re-read bans and the unbans
    and unlocks made by ``mailfort guard``; drop bans whose time is up. A failure is logged
    and retried at the next turn. On the way out (cancelled) a last flush is attempted."""
    try:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await guard.sync()  # also drops bans whose time is up
            except Exception:
                log.exception("guard state sync failed")
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(guard.flush()), DRAIN_TIMEOUT_S)
        raise


def _on_hup(tls: TlsContext, on_reload: Callable[[], None] | None, guard: Guard | None,
            tasks: set[asyncio.Task[None]]) -> None:
    _sync_guard_now(guard, tasks)
    _reload(tls, on_reload)


def _sync_guard_now(guard: Guard | None, tasks: set[asyncio.Task[None]]) -> None:
    """SIGHUP: re-read bans, unbans and unlocks now (and write the counters)."""
    if guard is None:
        return

    async def once() -> None:
        try:
            await guard.sync()
            log.info("guard state re-read")
        except Exception:
            log.exception("guard state sync failed")
    task = asyncio.get_running_loop().create_task(once(), name="guard-sync-hup")
    tasks.add(task)
    task.add_done_callback(tasks.discard)


def _factory(ctx: ImapServerContext, ep: Endpoint) -> Callable[[], asyncio.Protocol]:
    is_tls = ep.kind == "imaps"
    return lambda: ImapProtocol(ctx, is_implicit_tls=is_tls)


def _reload(tls: TlsContext, on_reload: Callable[[], None] | None = None) -> None:
    try:
        material = tls.reload()
    except Exception:
        log.exception("TLS certificate reload failed; keeping the old certificate")
        return
    log.info("TLS certificate reloaded (SHA-256 %s)", material.fingerprint_sha256)
    if on_reload is not None:
        try:
            on_reload()
        except Exception:
            log.exception("reload hook failed")


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
