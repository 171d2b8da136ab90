"""The `store` fixture: one conformance suite, every backend (STYLE.md §7).

Tests here are ``async def`` and speak only ``store.api``. They run on an asyncio.Runner owned
by the `runner` fixture (no pytest-asyncio needed), each bounded by TEST_TIMEOUT_S.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailfort.store.api import MailStore
from mailfort.store.sqlite import open_sqlite_store

# Every backend listed here must pass the whole suite. store.postgres does not exist yet; when
# it does, add "postgres" here (opened on $MAILFORT_TEST_PG_DSN, required under CI) rather than
# skipping: a backend is supported only if it passes everything.
BACKENDS = ["sqlite"]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, runner: asyncio.Runner,
          tmp_path: Path) -> Iterator[MailStore]:
    opened = runner.run(open_sqlite_store(tmp_path / "data"))
    yield opened
    runner.run(opened.close())

