"""A real ``mailfort serve`` in a subprocess, for tests that need the whole product: real mail
clients, durability under kill -9, the scanner. Ports are picked free on loopback; every wait is
bounded."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["MailfortProcess", "free_port", "wait_for_port"]

STARTUP_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout_s: float = STARTUP_TIMEOUT_S,
                  proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"server exited with status {proc.returncode}") from None
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listening on 127.0.0.1:{port}") from None
            time.sleep(0.05)  # polling a port, bounded by the deadline


def _toml_value(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class MailfortProcess:
    """``mailfort serve`` with its own config and data directory under ``root``."""

    root: Path
    imaps_port: int = field(default_factory=free_port)
    imap_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    extra_config: str = ""
    # Per-section overrides merged into the generated config, e.g.
    # ``{"server": {"pre_auth_timeout_s": 2}}``: TOML forbids declaring a table twice, so
    # settings in [server], [auth], [limits] or [log] cannot go through ``extra_config``.
    overrides: dict[str, dict[str, str | int | bool]] = field(default_factory=dict)
    # ``[guard] trusted`` networks: never banned nor locked out (suites that attack the
    # protocol layers from loopback, where the guard would ban them first).
    trusted: tuple[str, ...] = ()

    @property
    def config_path(self) -> Path:
        return self.root / "mailfort.toml"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def cert_path(self) -> Path:
        return self.data_dir / "tls" / "cert.pem"

    def write_config(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        sections: dict[str, dict[str, str | int | bool]] = {
            "server": {"imaps_listen": f"127.0.0.1:{self.imaps_port}",
                       "imap_listen": f"127.0.0.1:{self.imap_port}"},
            "storage": {"data_dir": "data"},
            # Cheap hashing and no failure delay keep the suite fast; the production defaults
            # are tested in tests/unit/auth.
            "auth": {"argon2_memory_kib": 1024, "argon2_time_cost": 1, "failure_delay_ms": 1},
            "log": {"level": "INFO"},
        }
        for section, values in self.overrides.items():
            sections.setdefault(section, {}).update(values)
        if self.trusted:
            sections.setdefault("guard", {})
        lines: list[str] = []
        for section, values in sections.items():
            lines.append(f"[{section}]")
            lines.extend(f"{key} = {_toml_value(value)}" for key, value in values.items())
            if section == "guard" and self.trusted:
                lines.append("trusted = [" + ", ".join(_toml_value(t) for t in self.trusted)
                             + "]")
        self.config_path.write_text("\n".join(lines) + "\n" + self.extra_config)

    def cli(self, *args: str, stdin: bytes | None = None, check: bool = True,
            timeout_s: float = 60) -> subprocess.CompletedProcess[bytes]:
        cmd = [sys.executable, "-m", "mailfort.cli.main", "--config", str(self.config_path),
               *args]
        result = subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout_s,
                                check=False)
        if check and result.returncode != 0:
            raise RuntimeError(f"mailfort {' '.join(args)} failed ({result.returncode}): "
                               f"{result.stderr.decode(errors='replace')}")
        return result

    def add_user(self, name: str, password: str | None = None) -> str:
        if password is None:
            password = _random_password(name)
        self.cli("user", "add", name, "--password-stdin", stdin=password.encode() + b"\n")
        return password

    def start(self) -> None:
        """Start the server and wait until both ports answer. On a first start, a port taken
        by another process between ``free_port()`` and the bind (parallel test workers) is
        retried with fresh ports, at most three times."""
        if not self.config_path.exists():
            self.write_config()
        for attempt in range(3):
            log_path = self.root / "server.log"
            offset = log_path.stat().st_size if log_path.exists() else 0
            try:
                self._launch()
                self._has_started = True
                return
            except RuntimeError:
                new_log = log_path.read_bytes()[offset:] if log_path.exists() else b""
                if (getattr(self, "_has_started", False) or attempt == 2
                        or b"address already in use" not in new_log):
                    raise
                self.proc = None
                self.imaps_port, self.imap_port = free_port(), free_port()
                self.write_config()

    def _launch(self) -> None:
        log = (self.root / "server.log").open("ab")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mailfort.cli.main", "--config", str(self.config_path),
             "serve"], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.root)
        wait_for_port(self.imaps_port, proc=self.proc)
        wait_for_port(self.imap_port, proc=self.proc)

    def kill(self) -> None:
        """SIGKILL: no chance to flush or clean up."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    def log_text(self) -> str:
        path = self.root / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def ssl_context(self) -> ssl.SSLContext:
        """Trusts exactly the server's self-signed certificate."""
        ctx = ssl.create_default_context(cafile=str(self.cert_path))
        ctx.check_hostname = False  # the certificate names "localhost"; we dial 127.0.0.1
        return ctx


def _random_password(name: str) -> str:
    """A random password the policy accepts for ``name``: never containing the user name,
    which is refused ("bob" turns up in 24 random URL-safe characters about once in 1,500)."""
    while True:
        password = "Tst-" + secrets.token_urlsafe(18)
        if name.casefold() not in password.casefold():
            return password
