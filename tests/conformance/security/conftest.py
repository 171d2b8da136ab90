"""The `backend` fixture: one account-security suite over ``store.security``, every backend.

Parametrized [memory, sqlite]: "memory" is the in-memory fakes the auth and guard unit
tests use (tests/unit/auth/auth_fakes.py), so the fakes' semantics and every real backend are
held to the same tests. Tests are ``async def``, run on the `runner` fixture's asyncio.Runner,
each bounded by TEST_TIMEOUT_S (no pytest-asyncio needed).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailfort.store.sqlite import open_sqlite_store

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from security_backend import Backend, MemorySecurityStore, MemoryUsers  # noqa: E402

# store.postgres does not exist yet: add "postgres" here when it does (required under CI), never
# as a skip: a backend is supported only if it passes the whole suite.
BACKENDS = ["memory", "sqlite"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, runner: asyncio.Runner,
            tmp_path: Path) -> Iterator[Backend]:
    name: str = request.param
    if name == "memory":
        yield Backend(name, MemorySecurityStore(), MemoryUsers())
        return
    store = runner.run(open_sqlite_store(tmp_path / "data"))
    yield Backend(name, store.security, store.users)
    runner.run(store.close())

