"""Fixtures for the attack suite: one ``mailfort serve`` subprocess per module (accounts
``alice`` and ``bob``), and a check after every test that the attack neither killed the server
nor left a traceback in its log. Modules that need other settings define their own ``server``
fixture with ``serving(..., overrides=...)``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.security.wire import Server, serving


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("mailfort")) as srv:
        yield srv


@pytest.fixture(autouse=True)
def server_survives(server: Server) -> Iterator[None]:
    """Every attack leaves the server running and its log free of tracebacks (a traceback is
    an unhandled exception: the server did not expect the input)."""
    before = len(server.log_text())
    yield
    assert server.is_running(), "the server process died during the attack"
    new_log = server.log_text()[before:]
    assert "Traceback" not in new_log, new_log[-3000:]
