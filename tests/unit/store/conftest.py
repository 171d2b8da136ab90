"""Async tests of the sqlite backend run on the `runner` fixture's loop, bounded."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator

import pytest

TEST_TIMEOUT_S = 60.0


@pytest.fixture(autouse=True)
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as r:
        yield r


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    test = pyfuncitem.obj
    if not inspect.iscoroutinefunction(test):
        return None
    r = pyfuncitem.funcargs["runner"]
    assert isinstance(r, asyncio.Runner)
    kwargs = {name: pyfuncitem.funcargs[name] for name in inspect.signature(test).parameters}
    r.run(asyncio.wait_for(test(**kwargs), TEST_TIMEOUT_S))
    return True
