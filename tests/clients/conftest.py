"""Fixtures for the real-mail-client tests: a running ``mailfort serve`` (module scope) with one
account, and ``require_tool`` for the external programs the tests drive.

A test names the programs it needs with ``@pytest.mark.tools("mbsync", ...)``; a setup hook
calls ``require_tool`` for each before any fixture runs, so a missing program skips the test
locally (with the reason) and fails it when ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest
from tests.clients.imapsession import Account
from tests.clients.processes import RunningServer
from tests.serverproc import MailfortProcess

USER: Final = "alice@example.test"
# Program -> the Debian package that provides it (.ci/run installs these).
DEBIAN_PACKAGE: Final = {"mbsync": "isync", "offlineimap": "offlineimap", "neomutt": "neomutt",
                         "tmux": "tmux", "fetchmail": "fetchmail", "getmail": "getmail6"}


def require_tool(name: str) -> str:
    """The absolute path of program ``name``; skip (locally) or fail (``CI=true``) if absent."""
    path = shutil.which(name)
    if path is None:
        package = DEBIAN_PACKAGE.get(name, name)
        reason = f"{name} is not installed (Debian package: {package})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI=true requires it", pytrace=False)
        pytest.skip(reason)
    return path


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "tools(*names): external programs the test drives")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before any fixture (the module's server included) is set up."""
    for marker in item.iter_markers("tools"):
        for name in marker.args:
            require_tool(str(name))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """``mailfort serve`` on free loopback ports with one account, for one test module."""
    proc = MailfortProcess(tmp_path_factory.mktemp("mailfort"))
    proc.write_config()
    password = proc.add_user(USER)
    try:
        proc.start()
    except Exception as exc:
        proc.stop()
        raise RuntimeError(f"mailfort serve did not start; server.log:\n"
                           f"{proc.log_text()[-4000:]}") from exc
    account = Account(USER, password, proc.imaps_port, proc.cert_path)
    try:
        yield RunningServer(proc, account)
    finally:
        proc.stop()


@pytest.fixture(autouse=True)
def _server_log_clean(request: pytest.FixtureRequest) -> Iterator[None]:
    """A real client may paper over a server fault (reconnect, retry): whatever the client
    says, the server must log no traceback and no ERROR (STYLE.md §5: ERROR = server fault)
    while a test runs."""
    if "server" not in request.fixturenames:
        yield
        return
    server: RunningServer = request.getfixturevalue("server")
    start = len(server.process.log_text())
    yield
    new = server.process.log_text()[start:]
    bad = [line for line in new.splitlines()
           if "Traceback" in line or " ERROR " in line or " CRITICAL " in line]
    if bad:
        pytest.fail("server logged faults during the test:\n" + "\n".join(bad[:20])
                    + f"\n--- server log (tail)\n{new[-4000:]}", pytrace=False)


@pytest.fixture(scope="module")
def account(server: RunningServer) -> Account:
    return server.account


@pytest.fixture()
def client_home(tmp_path: Path) -> Path:
    """An empty HOME for a client, so no personal configuration leaks into a test."""
    home = tmp_path / "home"
    home.mkdir()
    return home
