"""The IMAP driver: one ``asyncio.Protocol`` per connection that moves bytes between the socket,
the sans-I/O core (``imap.connection.ImapConnection``) and the ``Session``.

Input is buffered here (reading pauses above a high-water mark) and fed to the core only when
the core has no event pending, so bytes a client pipelines after STARTTLS are still ours to
throw away when the TLS handshake starts. Output is queued and handed to the transport in ONE
write before the driver waits for input (so once per command, or per pipelined burst), at 64
KiB, on ``drain`` and on close: over TLS each transport write is its own encryption call. A
session awaits ``drain`` inside big FETCH loops so a slow reader only slows itself.

Logging: one INFO summary line per connection; ``conn_id``, ``peer`` and ``user`` are put on
every record of the connection's task by ``ConnectionContextFilter``.
"""

from __future__ import annotations

import asyncio
import contextvars
import ipaddress
import logging
import secrets
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, cast

from mailfort.audit.events import ConnectionRefusalReason
from mailfort.config.model import Settings
from mailfort.guard.guard import Guard
from mailfort.guard.ratelimit import ConnectionTicket
from mailfort.imap import encoder
from mailfort.imap.codes import ResponseCode
from mailfort.imap.connection import (
    CommandReceived,
    ConnectionClosed,
    IdleDone,
    ImapConnection,
    SaslCancelled,
    SaslResponse,
)
from mailfort.imap.limits import ProtocolLimits
from mailfort.server.listener import handshake_timeout_s
from mailfort.service.imap.audit import AuditHooks
from mailfort.service.imap.session import (
    BearerAuthenticator,
    Next,
    PasswordAuthenticator,
    Session,
)
from mailfort.store.acl import AclStore
from mailfort.store.api import MailStore
from mailfort.store.types import User

__all__ = ["ImapServerContext", "ImapProtocol", "ConnectionContextFilter", "conn_id_var",
           "peer_var", "user_var"]

log = logging.getLogger(__name__)

conn_id_var: Final[contextvars.ContextVar[str]] = contextvars.ContextVar("conn_id", default="-")
peer_var: Final[contextvars.ContextVar[str]] = contextvars.ContextVar("peer", default="-")
user_var: Final[contextvars.ContextVar[str]] = contextvars.ContextVar("user", default="-")

_HIGH_WATER: Final = 256 * 1024
_IDLE_KEEPALIVE_S: Final = 120.0
_CLOSE_GRACE_S: Final = 2.0
_FLUSH_BYTES: Final = 64 * 1024


class ConnectionContextFilter(logging.Filter):
    """Adds ``conn_id``, ``peer`` and ``user`` to every record (for log correlation only).
    Install it on the handlers (``handler.addFilter``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.conn_id = conn_id_var.get()
        record.peer = peer_var.get()
        record.user = user_var.get()
        return True


class ConnectionGate:
    """Counts this server's connections in total (``server.max_connections``, a resource
    bound); refuses above it. Per-address limits are the guard's (``[guard]``)."""

    def __init__(self, max_total: int) -> None:
        self._max_total = max_total
        self._total = 0

    @property
    def active(self) -> int:
        return self._total

    def admit(self) -> bool:
        if self._total >= self._max_total:
            return False
        self._total += 1
        return True

    def release(self) -> None:
        self._total -= 1


# At accept: a refused source hears why before the connection closes (no greeting).
_BYE_CODE: Final = {
    ConnectionRefusalReason.LIMIT_TOTAL_PER_ADDRESS: ResponseCode.LIMIT,
    ConnectionRefusalReason.LIMIT_PRE_AUTH_PER_ADDRESS: ResponseCode.LIMIT,
    ConnectionRefusalReason.LIMIT_PER_USER_AND_ADDRESS: ResponseCode.LIMIT,
}


class _TicketGate:
    """``LoginGate`` for one connection: counts it against the user at the guard."""

    def __init__(self, guard: Guard, ticket: ConnectionTicket) -> None:
        self._guard = guard
        self._ticket = ticket

    def admit(self, user: User) -> bool:
        return self._guard.authenticated(self._ticket, user.name).is_allowed


@dataclass(slots=True)
class ImapServerContext:
    """What every connection of one server shares."""

    settings: Settings
    store: MailStore
    authenticator: PasswordAuthenticator
    ssl_context: Callable[[], ssl.SSLContext]
    gate: ConnectionGate
    tasks: set[asyncio.Task[None]]
    limits: ProtocolLimits
    # Account security (issue #3): None keeps the old behaviour (no guard, PLAIN/LOGIN only).
    guard: Guard | None = None
    bearer: BearerAuthenticator | None = None
    # The audit layer (issue #4): None emits nothing and counts nothing.
    audit: AuditHooks | None = None
    # Least privilege (issue #6): None keeps the personal namespace only, owner has all rights.
    acl: AclStore | None = None


class InputActivity:
    """How many times any connection of this process received bytes (one integer add per
    read): the GC pacer's "quiet" means no client sent anything for a while."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


INPUT_ACTIVITY: Final = InputActivity()


class _Closed(Exception):
    """The peer went away, or we decided to end the connection."""


class ImapProtocol(asyncio.Protocol):
    def __init__(self, ctx: ImapServerContext, *, is_implicit_tls: bool) -> None:
        self._ctx = ctx
        self._is_tls = is_implicit_tls
        self._transport: asyncio.Transport | None = None
        self._inbox = bytearray()
        self._data_ready = asyncio.Event()
        self._idle_waiter: asyncio.Future[bool] | None = None  # see _idle
        self._eof = False
        self._lost = False
        self._discarding = False
        self._paused_reading = False
        self._write_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self._bytes_in = 0
        self._bytes_out = 0
        self._ip = "-"
        self._peer = "-"
        self._task: asyncio.Task[None] | None = None
        self._abortive = False
        self._abort_handle: asyncio.Handle | None = None
        self._out: list[bytes] = []  # responses not yet handed to the transport
        self._out_bytes = 0
        self._pre_auth_deadline = time.monotonic() + ctx.settings.server.pre_auth_timeout_s

    # ---- asyncio.Protocol ----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._transport is not None:  # start_tls hands us the TLS transport again
            return
        # uvloop's transports implement the interface without subclassing asyncio.Transport.
        self._transport = cast(asyncio.Transport, transport)
        peername = self._transport.get_extra_info("peername")
        if isinstance(peername, tuple) and len(peername) >= 2:
            self._ip, self._peer = str(peername[0]), f"{peername[0]}:{peername[1]}"
        task = asyncio.get_running_loop().create_task(self._run())
        self._task = task
        self._ctx.tasks.add(task)
        task.add_done_callback(self._ctx.tasks.discard)

    def data_received(self, data: bytes) -> None:
        if self._discarding:
            return
        self._bytes_in += len(data)
        INPUT_ACTIVITY.count += 1
        self._inbox += data
        self._data_ready.set()
        self._wake_idle()
        if len(self._inbox) > _HIGH_WATER and not self._paused_reading and self._transport:
            self._paused_reading = True
            self._transport.pause_reading()

    def eof_received(self) -> bool | None:
        self._eof = True
        self._data_ready.set()
        self._wake_idle()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._abort_handle is not None:
            self._abort_handle.cancel()
            self._abort_handle = None
        self._lost = True
        self._eof = True
        self._data_ready.set()
        self._wake_idle()
        self._wake_writer()

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._wake_writer()

    def _wake_writer(self) -> None:
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # ---- ResponseSink --------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        """Queue ``data``; it reaches the transport in one write per command (``_flush``),
        or as soon as ~64 KiB are pending: one TLS record run instead of one per line."""
        if data and self._transport is not None and not self._lost:
            self._bytes_out += len(data)
            self._out.append(data)
            self._out_bytes += len(data)
            if self._out_bytes >= _FLUSH_BYTES:
                self._flush()

    def _flush(self) -> None:
        """Hand every queued response to the transport in one ``write``."""
        if not self._out:
            return
        data = self._out[0] if len(self._out) == 1 else b"".join(self._out)
        self._out.clear()
        self._out_bytes = 0
        if self._transport is not None and not self._lost:
            self._transport.write(data)

    async def drain(self) -> None:
        self._flush()
        if self._lost:
            raise _Closed
        if not self._write_paused:
            return
        self._drain_waiter = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(self._ctx.settings.server.post_auth_timeout_s):
                await self._drain_waiter
        except TimeoutError:
            raise _Closed from None
        finally:
            self._drain_waiter = None
        if self._lost:
            raise _Closed

    # ---- the connection ------------------------------------------------------------------
    async def _run(self) -> None:
        conn_id_var.set(secrets.token_hex(4))
        peer_var.set(self._peer)
        started = time.monotonic()
        gate = self._ctx.gate
        if not gate.admit():
            log.warning("connection refused: too many connections")
            self.write(encoder.bye("Too many connections", ResponseCode.LIMIT))
            self._close()
            return
        guard = self._ctx.guard
        ticket: ConnectionTicket | None = None
        if guard is not None:
            decision = guard.check_connect(self._ip)
            if not decision.is_allowed:
                gate.release()
                log.warning("connection refused by the guard: %s",
                            decision.reason.value if decision.reason else "-")
                code = _BYE_CODE.get(decision.reason) if decision.reason else None
                self.write(encoder.bye(decision.message, code or ResponseCode.UNAVAILABLE))
                self._close()
                return
            ticket = decision.ticket
        session: Session | None = None
        try:
            session = Session(store=self._ctx.store, authenticator=self._ctx.authenticator,
                              settings=self._ctx.settings, sink=self, peer=self._ip,
                              is_tls=self._is_tls, is_loopback=_is_loopback(self._ip),
                              bearer=self._ctx.bearer,
                              login_gate=(_TicketGate(guard, ticket)
                                          if guard is not None and ticket is not None
                                          else None),
                              audit=self._ctx.audit, acl=self._ctx.acl)
            self._audit_opened(session)
            await self._serve(session)
        except _Closed:
            pass
        except asyncio.CancelledError:
            self.write(encoder.bye("Server shutting down", ResponseCode.UNAVAILABLE))
            raise
        except Exception:
            log.exception("internal error; closing the connection")
            self.write(encoder.bye("Internal server error", ResponseCode.SERVERBUG))
        finally:
            if session is not None:
                session.close()
                self._audit_closed(session, time.monotonic() - started)
            gate.release()
            if guard is not None and ticket is not None:
                guard.release(ticket)
            self._close()
            log.info("connection closed: %.3fs, %d bytes in, %d bytes out, %d commands",
                     time.monotonic() - started, self._bytes_in, self._bytes_out,
                     session.commands if session is not None else 0)

    # ---- the audit layer ----------------------------------------------------------------
    def _audit_opened(self, session: Session) -> None:
        hooks = self._ctx.audit
        if hooks is None:
            return
        if hooks.metrics is not None:
            hooks.metrics.connection_opened("imap")
        session.audit.control.on_end = self._end_by_alert

    def _audit_closed(self, session: Session, duration_s: float) -> None:
        hooks = self._ctx.audit
        if hooks is None:
            return
        if hooks.metrics is not None:
            hooks.metrics.connection_closed("imap")
        session.audit.control.on_end = None
        session.audit.ended(session.user.name if session.user is not None else None,
                            duration_s, self._bytes_in, self._bytes_out)

    def _end_by_alert(self) -> None:
        """An alert asked to end this session (``end_session``): BYE and close now."""
        self.write(encoder.bye("Session ended by security policy"))
        self._abortive = True
        self._close()  # connection_lost follows at once; the session's next wait sees it

    def _close(self) -> None:
        """Close after flushing; a peer that does not finish the (TLS) close promptly, or
        keeps sending, is cut off after a short grace."""
        self._flush()
        transport = self._transport
        if transport is not None and not transport.is_closing():
            transport.close()
            loop = asyncio.get_running_loop()
            if self._abortive:  # one loop turn for the BYE to reach the socket
                self._abort_handle = loop.call_soon(self._abort)
            else:
                self._abort_handle = loop.call_later(_CLOSE_GRACE_S, self._abort)

    def _abort(self) -> None:
        self._abort_handle = None
        if not self._lost and self._transport is not None:
            self._transport.abort()

    def _timeout_s(self, session: Session) -> float:
        """Before login the deadline is absolute from the connection's start (a byte now and
        then does not extend it: slowloris); after login it is inactivity."""
        server = self._ctx.settings.server
        if session.user is None:
            return max(0.0, self._pre_auth_deadline - time.monotonic())
        return float(server.post_auth_timeout_s)

    async def _receive(self, conn: ImapConnection, timeout_s: float) -> None:
        """Wait for input and feed it to the core. Raises _Closed at EOF."""
        self._flush()
        if not self._inbox:
            if self._eof:
                raise _Closed
            self._data_ready.clear()
            async with asyncio.timeout(timeout_s):
                await self._data_ready.wait()
        data = bytes(self._inbox)
        self._inbox.clear()
        if self._paused_reading and self._transport is not None:
            self._paused_reading = False
            self._transport.resume_reading()
        if data:
            conn.receive_data(data)
        elif self._eof:
            raise _Closed

    def _flush_core(self, conn: ImapConnection) -> None:
        self.write(conn.data_to_send())

    async def _serve(self, session: Session) -> None:
        conn = ImapConnection(self._ctx.limits)
        self.write(session.greeting())
        while True:
            event = conn.next_event()
            self._flush_core(conn)
            if event is None:
                try:
                    await self._receive(conn, self._timeout_s(session))
                except TimeoutError:
                    self.write(encoder.bye("Autologout; idle for too long"))
                    return
                continue
            if isinstance(event, ConnectionClosed):
                # The core gave up on the input (a fatal limit): stop reading at once rather
                # than draining a flood through a polite TLS shutdown.
                self._abortive = not self._eof
                return
            if isinstance(event, CommandReceived):
                nxt = await session.handle(event.command)
            elif isinstance(event, SaslResponse):
                nxt = await session.sasl_response(event.data)
            elif isinstance(event, SaslCancelled):
                nxt = session.sasl_cancelled()
            else:  # IdleDone outside IDLE cannot happen; ignore defensively
                continue
            if session.user is not None:
                user_var.set(session.user.name)
            self._sync_state(conn, session)
            if nxt is Next.CLOSE:
                return
            if nxt is Next.START_TLS:
                await self._start_tls(conn, session)
            elif nxt is Next.SASL:
                conn.expect_sasl_response()
            elif nxt is Next.IDLE:
                conn.expect_idle_done()
                if not await self._idle(conn, session):
                    return

    def _sync_state(self, conn: ImapConnection, session: Session) -> None:
        if conn.state is not session.state:
            conn.set_state(session.state)

    async def _start_tls(self, conn: ImapConnection, session: Session) -> None:
        """The tagged OK is written. Everything the client sent after STARTTLS is discarded
        (RFC 9051 §11.1; CVE-2011-0411 class), then the handshake runs."""
        self._discarding = True
        self._inbox.clear()
        conn.tls_started()
        self._flush()
        transport = self._transport
        assert transport is not None
        loop = asyncio.get_running_loop()
        try:
            new_transport = await loop.start_tls(
                transport, self, self._ctx.ssl_context(), server_side=True,
                ssl_handshake_timeout=handshake_timeout_s(
                    self._ctx.settings.server.pre_auth_timeout_s))
        except (OSError, ssl.SSLError, ConnectionError, TimeoutError) as exc:
            log.info("STARTTLS handshake failed: %s", type(exc).__name__)
            raise _Closed from None
        if new_transport is None:
            raise _Closed
        self._transport = new_transport
        self._inbox.clear()
        self._discarding = False
        self._is_tls = True
        session.tls_started()

    async def _idle(self, conn: ImapConnection, session: Session) -> bool:
        """Until DONE: push updates as the notifier rings. False: the connection ends.

        One plain future per wait, resolved by whichever comes first: input
        (``data_received``), the selected mailbox's notifier (``on_change``) or the keepalive
        timer. No Event or task per idler: an APPEND wakes every idler of the mailbox at once.
        """
        deadline = time.monotonic() + self._ctx.settings.server.idle_timeout_s
        loop = asyncio.get_running_loop()
        view = session.selected
        if view is not None:
            view.on_change = self._wake_idle
        try:
            while True:
                event = conn.next_event()
                self._flush_core(conn)
                if isinstance(event, IdleDone):
                    session.idle_done(is_valid=event.is_valid)
                    return True
                if isinstance(event, ConnectionClosed):
                    return False
                if event is not None:  # the core only yields IdleDone/ConnectionClosed here
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.write(encoder.bye("IDLE timed out"))
                    return False
                self._flush()
                if not self._inbox:
                    if self._eof:
                        return False
                    if view is None or not view.is_dirty:
                        waiter: asyncio.Future[bool] = loop.create_future()
                        self._idle_waiter = waiter
                        timer = loop.call_later(min(remaining, _IDLE_KEEPALIVE_S),
                                                _settle_waiter, waiter, False)
                        try:
                            woken = await waiter
                        finally:
                            timer.cancel()
                            self._idle_waiter = None
                        if not woken:
                            self.write(b"* OK Still here\r\n")
                            continue
                    if view is not None and view.is_dirty:
                        await session.idle_poll()
                    if not self._inbox and not self._eof:
                        continue
                await self._receive(conn, 1.0)
        finally:
            if view is not None:
                view.on_change = None

    def _wake_idle(self) -> None:
        waiter = self._idle_waiter
        if waiter is not None:
            _settle_waiter(waiter, True)


def _settle_waiter(waiter: asyncio.Future[bool], value: bool) -> None:
    if not waiter.done():
        waiter.set_result(value)


def _is_loopback(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False
