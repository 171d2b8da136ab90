"""hydra (the Debian package) against Mailfort over imaps, with the DEFAULT guard: throttled.

A bounded run (RUN_S seconds, then hydra is killed) with a 60-word list whose last entry is the
real password. Without the guard hydra gets through the list in a few seconds; with it the
progressive delays (0, 1, 2, 4, 8, 15 s by failures so far) and the lockout after 10 failures
from an unknown network leave it fewer than MAX_EVALUATED guesses in RUN_S seconds, and it never
finds the password. "Evaluated" is counted on the server side (LoginFailed events whose
credential was checked), not from hydra's own claims. Under CI=true a missing hydra fails.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import RunningServer, make_settings, running_server

from mailfort.audit.events import LoginFailed, SecurityEvent

RUN_S = 20.0
MAX_EVALUATED = 16
WORDS = 60


class _Count:
    def __init__(self) -> None:
        self.failed = 0
        self._lock = threading.Lock()

    def emit(self, event: SecurityEvent) -> None:
        if isinstance(event, LoginFailed):
            with self._lock:
                self.failed += 1


@pytest.fixture(scope="module")
def hydra() -> str:
    path = shutil.which("hydra")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("hydra is not installed (.ci/run installs the Debian package)")
        pytest.skip("hydra is not installed (apt-get install hydra)")
    return path


@pytest.fixture(scope="module")
def counted(tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[tuple[RunningServer, _Count]]:
    count = _Count()
    settings = make_settings(tmp_path_factory.mktemp("hydra") / "data")  # default [guard]
    with running_server(settings, security=True, sink=count) as srv:
        yield srv, count


def test_hydra_is_throttled(hydra: str, counted: tuple[RunningServer, _Count],
                            tmp_path: Path) -> None:
    srv, count = counted
    acct = srv.add_user()
    words = tmp_path / "words.txt"
    words.write_text("".join(f"guess{i:03d}\n" for i in range(WORDS - 1)) + acct.password + "\n")
    cmd = [hydra, "-l", acct.username, "-P", str(words), "-t", "4", "-I", "-V",
           "-s", str(srv.imaps_port), "127.0.0.1", "imaps"]
    log = tmp_path / "hydra.out"
    with log.open("wb") as out:
        # Its own process group: hydra forks a child per task, all ended together below.
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path,
                                start_new_session=True)
        try:
            proc.wait(timeout=RUN_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    text = log.read_text(errors="replace")
    assert "[ATTEMPT]" in text or "[STATUS]" in text or "login:" in text, text[-2000:]
    assert "1 valid password found" not in text, text[-2000:]
    assert 0 < count.failed < MAX_EVALUATED, (count.failed, text[-2000:])
