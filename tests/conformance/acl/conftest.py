"""The `backend` fixture: one least-privilege suite over ``store.acl``, every backend.

Parametrized [memory, sqlite] like tests/conformance/security. Tests are ``async def``, run on
the `runner` fixture's asyncio.Runner, each bounded by TEST_TIMEOUT_S.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailfort.store.sqlite import open_sqlite_store
from mailfort.store.types import MailboxId, UserId

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from acl_backend import Backend, MemoryAcl  # noqa: E402

# Add "postgres" when store.postgres exists (required under CI), never as a skip.
BACKENDS = ["memory", "sqlite"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, runner: asyncio.Runner,
            tmp_path: Path) -> Iterator[Backend]:
    if request.param == "memory":
        yield MemoryAcl().backend()
        return
    store = runner.run(open_sqlite_store(tmp_path / "data"))

    async def create_user(name: str) -> UserId:
        return (await store.users.create(name, "$argon2id$dummy")).id

    async def create_mailbox(user_id: UserId, name: str) -> MailboxId:
        return (await store.mailboxes.create(user_id, name)).id

    yield Backend("sqlite", store.acl, create_user, store.users.delete, create_mailbox,
                  store.mailboxes.delete)
    runner.run(store.close())

