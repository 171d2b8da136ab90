"""The composition root: the only place that builds concrete objects (STYLE.md §2)."""

from __future__ import annotations

from contextlib import asynccontextmanager
from collections.abc import AsyncIterator
from dataclasses import dataclass

from mailfort.auth.authenticator import Authenticator
from mailfort.auth.passwords import PasswordHashing
from mailfort.config.model import Settings
from mailfort.store.api import MailStore

__all__ = ["Runtime", "runtime"]


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    store: MailStore
    hashing: PasswordHashing
    authenticator: Authenticator


async def open_store(settings: Settings) -> MailStore:
    from mailfort.store.sqlite import open_sqlite_store

    return await open_sqlite_store(settings.data_dir)


@asynccontextmanager
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """Open the store and the login machinery; close them on exit."""
    store = await open_store(settings)
    hashing = PasswordHashing(settings.auth)
    try:
        authenticator = Authenticator(store.users, hashing,
                                      failure_delay_s=settings.auth.failure_delay_ms / 1000)
        yield Runtime(settings, store, hashing, authenticator)
    finally:
        hashing.close()
        await store.close()
