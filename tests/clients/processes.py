"""Running an external mail client with a bounded wait, an isolated HOME and a failure message
that carries the client's output and the tail of the server log."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from tests.clients.imapsession import Account
from tests.serverproc import MailfortProcess

__all__ = ["RunningServer", "client_env", "run_tool"]

CLIENT_TIMEOUT_S: Final = 45.0


@dataclass(frozen=True, slots=True)
class RunningServer:
    process: MailfortProcess
    account: Account

    @property
    def log_path(self) -> Path:
        return self.process.root / "server.log"

    def log_tail(self, chars: int = 4000) -> str:
        return self.process.log_text()[-chars:]


def client_env(home: Path, **extra: str) -> dict[str, str]:
    """A minimal environment: a private HOME, a fixed locale, no proxies, no user config."""
    env = {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TERM": "xterm-256color",
        "TMPDIR": str(home),
    }
    env.update(extra)
    return env


def run_tool(argv: Sequence[str], *, env: dict[str, str], server_log: Path,
             timeout_s: float = CLIENT_TIMEOUT_S, ok_codes: Sequence[int] = (0,),
             cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` to completion (bounded); on a bad exit status or a timeout raise an
    AssertionError showing the command's output and the end of the server log."""
    try:
        # argv is built by the tests themselves, never from outside input.
        result = subprocess.run(list(argv), env=env,  # noqa: S603
                                cwd=cwd, capture_output=True, text=True, errors="replace",
                                timeout=timeout_s, stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(
            f"{argv[0]} did not finish within {timeout_s} s\n"
            f"--- stdout\n{_text(exc.stdout)}\n--- stderr\n{_text(exc.stderr)}\n"
            f"--- server log (tail)\n{_log_tail(server_log)}") from None
    if result.returncode not in ok_codes:
        raise AssertionError(
            f"{' '.join(argv)} exited {result.returncode}\n--- stdout\n{result.stdout[-6000:]}\n"
            f"--- stderr\n{result.stderr[-6000:]}\n--- server log (tail)\n"
            f"{_log_tail(server_log)}")
    return result


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    if isinstance(data, bytes):
        return data.decode(errors="replace")[-6000:]
    return data[-6000:]


def _log_tail(server_log: Path) -> str:
    return server_log.read_text(errors="replace")[-4000:] if server_log.exists() else ""
