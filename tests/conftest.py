"""Shared fixtures: an in-process Mailfort IMAP server on free loopback ports.

``server`` (session scope) runs ``server.lifecycle.serve`` on its own event loop in a
background thread, with a temporary data directory, the SQLite store, a generated self-signed
certificate and cheap Argon2 parameters. ``account`` creates a fresh user per test so tests
never see each other's mail. ``MAILFORT_TEST_LOOP=uvloop`` runs the server on uvloop, as
``mailfort serve`` does. Suites with their own ``server`` fixture (tests/clients,
tests/security) override this one in their folders.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import ssl
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

import pytest

from mailfort.audit.events import EventSink, NullSink
from mailfort.auth.authenticator import Authenticator
from mailfort.auth.passwords import PasswordHashing
from mailfort.cli.bootstrap import Security, acl_state, build_security, open_store
from mailfort.config.model import AuthSettings, ServerSettings, Settings, StorageSettings
from mailfort.core.clock import SystemClock
from mailfort.core.secret import Secret
from mailfort.server.lifecycle import serve
from mailfort.server.tls import TlsContext, TlsMaterial, ensure_tls_material
from mailfort.service.delivery import deliver_to_user
from mailfort.store.api import MailStore
from mailfort.store.types import AppendResult

T = TypeVar("T")
WAIT_S = 20.0
_user_numbers = itertools.count(1)


@dataclass(frozen=True)
class Account:
    username: str
    password: str


@dataclass
class RunningServer:
    """A live server. ``run`` executes a coroutine on the server's loop (bounded wait)."""

    host: str
    imap_port: int
    imaps_port: int
    cert_file: Path
    fingerprint: str
    data_dir: Path
    settings: Settings
    loop: asyncio.AbstractEventLoop
    store: MailStore
    hashing: PasswordHashing
    _stop: asyncio.Event = field(repr=False)
    security: Security | None = None  # with running_server(..., security=True)

    def run(self, coro: Coroutine[object, object, T], timeout_s: float = WAIT_S) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts exactly the server's self-signed certificate."""
        ctx = ssl.create_default_context(cafile=str(self.cert_file))
        ctx.check_hostname = True
        return ctx

    def add_user(self, username: str | None = None, password: str | None = None) -> Account:
        name = username or f"user{next(_user_numbers)}-{secrets.token_hex(3)}"
        pw = password or secrets.token_urlsafe(12)

        async def create() -> None:
            await self.store.users.create(name, await self.hashing.hash(Secret(pw)))

        self.run(create())
        return Account(name, pw)

    def deliver(self, account: Account, raw: bytes, mailbox: str = "INBOX") -> AppendResult:
        return self.run(deliver_to_user(self.store, account.username, raw, mailbox=mailbox))


def make_settings(data_dir: Path) -> Settings:
    """Loopback, ephemeral ports, cheap hashing, short failure delay."""
    return Settings(
        server=ServerSettings(imaps_listen="127.0.0.1:0", imap_listen="127.0.0.1:0",
                              hostname="localhost"),
        storage=StorageSettings(data_dir=str(data_dir)),
        auth=AuthSettings(argon2_memory_kib=1024, argon2_time_cost=1, failure_delay_ms=20),
        base_dir=data_dir.parent,
    )


@dataclass
class _Started:
    """What the server thread hands back to the test thread."""

    store: MailStore | None = None
    hashing: PasswordHashing | None = None
    stop: asyncio.Event | None = None
    material: TlsMaterial | None = None
    loop: asyncio.AbstractEventLoop | None = None
    addresses: list[tuple[str, int, str]] = field(default_factory=list)
    error: BaseException | None = None
    security: Security | None = None


@contextmanager
def running_server(settings: Settings,
                   wrap_store: Callable[[MailStore], MailStore] | None = None,
                   *, security: bool = False, sink: EventSink | None = None,
                   ) -> Iterator[RunningServer]:
    """Start ``serve`` in a background thread; stop it (and wait, bounded) on exit.
    ``wrap_store`` lets a test put a fault-injecting fake around the real store.
    ``security``: wire the guard and the login service (``cli.bootstrap.build_security``) as
    ``mailfort serve`` does; ``sink`` receives their events."""
    started = threading.Event()
    st = _Started()

    async def main() -> None:
        store = await open_store(settings)  # the composition root picks the backend
        hashing = PasswordHashing(settings.auth)
        authenticator = Authenticator(store.users, hashing,
                                      failure_delay_s=settings.auth.failure_delay_ms / 1000)
        st.material = ensure_tls_material(settings)
        st.store, st.hashing, st.stop = store, hashing, asyncio.Event()
        st.loop = asyncio.get_running_loop()

        def ready(addresses: list[tuple[str, int, str]]) -> None:
            st.addresses = addresses
            started.set()

        try:
            served = wrap_store(store) if wrap_store is not None else store
            sec = (await build_security(settings, store, SystemClock(), sink or NullSink(),
                                        hashing=hashing) if security else None)
            st.security = sec
            await serve(settings, served, authenticator, TlsContext(st.material), ready=ready,
                        stop=st.stop, guard=sec.guard if sec else None,
                        login_service=sec.login_service if sec else None,
                        acl=acl_state(store))
        finally:
            hashing.close()
            await store.close()

    def thread_main() -> None:
        factory: Callable[[], asyncio.AbstractEventLoop] | None = None
        if os.environ.get("MAILFORT_TEST_LOOP") == "uvloop":  # as `mailfort serve` runs
            import uvloop
            factory = uvloop.new_event_loop
        try:
            with asyncio.Runner(loop_factory=factory) as runner:
                runner.run(main())
        except BaseException as exc:  # surfaced to the test thread below
            st.error = exc
            started.set()

    thread = threading.Thread(target=thread_main, name="mailfort-test-server", daemon=True)
    thread.start()
    if not started.wait(WAIT_S) or st.error is not None:
        raise RuntimeError(f"server did not start: {st.error!r}")
    assert st.store and st.hashing and st.stop and st.material and st.loop
    ports = {kind: port for _, port, kind in st.addresses}
    srv = RunningServer(
        host="127.0.0.1", imap_port=ports["imap"], imaps_port=ports["imaps"],
        cert_file=st.material.cert_file, fingerprint=st.material.fingerprint_sha256,
        data_dir=settings.data_dir, settings=settings, loop=st.loop, store=st.store,
        hashing=st.hashing, _stop=st.stop, security=st.security)
    try:
        yield srv
    finally:
        st.loop.call_soon_threadsafe(st.stop.set)
        thread.join(WAIT_S)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One in-process server for the whole test session."""
    root = tmp_path_factory.mktemp("mailfort-server")
    with running_server(make_settings(root / "data")) as srv:
        yield srv


@pytest.fixture()
def account(server: RunningServer) -> Account:
    """A fresh user (with the default mailboxes) for one test."""
    return server.add_user()


__all__ = ["Account", "RunningServer", "running_server", "make_settings", "replace"]
