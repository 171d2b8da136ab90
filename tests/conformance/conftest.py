"""Shared by every conformance suite: ``async def`` tests run on the `runner` fixture's
asyncio.Runner (no pytest-asyncio needed), each bounded by TEST_TIMEOUT_S. The suites'
own conftest.py files only choose their backends."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator

import pytest

TEST_TIMEOUT_S = 30.0


@pytest.fixture(autouse=True)
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as r:
        yield r


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests on the test's runner, bounded."""
    test = pyfuncitem.obj
    if not inspect.iscoroutinefunction(test):
        return None
    r = pyfuncitem.funcargs["runner"]
    assert isinstance(r, asyncio.Runner)
    names = inspect.signature(test).parameters
    kwargs = {name: pyfuncitem.funcargs[name] for name in names}
    r.run(asyncio.wait_for(test(**kwargs), TEST_TIMEOUT_S))
    return True
