"""`mailfort scan` ends within its per-host budget and its process exits promptly, even when a
server stalls every TLS handshake (sslyze keeps trying) or a check never returns."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import textwrap
import time

import pytest

from .fakeserver import Behaviour, FakeImapServer

pytestmark = pytest.mark.timeout(90)

HOST_TIMEOUT_S = 4


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("MAILFORT_SCAN_PASSWORD", None)
    return env


def test_stalled_tls_handshakes_do_not_hang_the_scan(server_tls_context: ssl.SSLContext) -> None:
    # Discovery's STARTTLS handshake completes; every later one (all of sslyze's) stalls.
    with FakeImapServer(Behaviour(stall_tls_after=1), server_tls_context) as server:
        started = time.monotonic()
        proc = subprocess.run(  # noqa: S603 - our own interpreter and module
            [
                sys.executable,
                "-m",
                "mailfort.cli.scan",
                "-p",
                str(server.port),
                "--host-timeout",
                str(HOST_TIMEOUT_S),
                "--timeout",
                "2",
                "--format",
                "json",
                "127.0.0.1",
            ],
            capture_output=True,
            timeout=60,
            env=_env(),
            check=False,
        )
        elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr.decode()
    # the budget, the interpreter's start-up and one operation in flight; not sslyze's pace
    assert elapsed < HOST_TIMEOUT_S + 15
    (host,) = json.loads(proc.stdout)["hosts"]
    ids = {f["id"] for f in host["findings"]}
    assert "tls-scan-incomplete" in ids
    # only checks that were enabled are listed as not completed
    incomplete = next((f for f in host["findings"] if f["id"] == "scan-incomplete"), None)
    if incomplete is not None:
        assert "bruteforce" not in incomplete["evidence"]
        assert "idle" not in incomplete["evidence"]


def test_a_check_that_never_returns_does_not_keep_the_process_alive() -> None:
    script = textwrap.dedent(
        """
        import socket, threading
        from mailfort.scan.context import Check, ScanOptions
        from mailfort.scan.runner import scan_hosts

        def stuck(ctx):
            threading.Event().wait()  # ignores every deadline
            return []

        listener = socket.create_server(("127.0.0.1", 0))
        port = listener.getsockname()[1]

        def serve(conn):
            conn.sendall(b"* OK ready\\r\\n")
            for line in conn.makefile("rb"):
                tag = line.split(b" ", 1)[0]
                conn.sendall(tag + b" OK done\\r\\n")

        def accept():
            while True:
                conn, _ = listener.accept()
                threading.Thread(target=serve, args=(conn,), daemon=True).start()

        threading.Thread(target=accept, daemon=True).start()
        options = ScanOptions(ports=(port,), tls_checks=False, host_timeout_s=2, op_timeout_s=1)
        report = scan_hosts(["127.0.0.1"], options, checks=[Check("stuck", "", stuck)])
        print(report.hosts[0].error)
        """
    )
    started = time.monotonic()
    proc = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script], capture_output=True, timeout=60, env=_env(), check=False
    )
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().strip() == "host time budget exceeded"
    assert elapsed < 20
