"""The `scan` subcommand: exit codes by --fail-on, usage errors, and every output format."""

from __future__ import annotations

import argparse
import json
import ssl
from pathlib import Path

import pytest

from mailfort.cli import scan as cli

from .fakeserver import Behaviour, FakeImapServer


def test_argparse_errors_exit_2_with_message(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["--fail-on", "severe", "127.0.0.1"])
    assert exc.value.code == 2
    assert "unknown severity 'severe'" in capsys.readouterr().err


def test_usage_errors_return_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cli.main([]) == 2
    assert "no hosts given" in capsys.readouterr().err
    assert cli.main(["--bruteforce", "5", "127.0.0.1"]) == 2
    assert "--test-user" in capsys.readouterr().err
    assert cli.main(["--hosts-file", str(tmp_path / "missing.txt")]) == 2


def test_add_parser_registers_scan() -> None:
    parser = argparse.ArgumentParser(prog="mailfort")
    cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["scan", "--format", "json", "127.0.0.1"])
    assert args.func is cli.run and args.hosts == ["127.0.0.1"]


@pytest.mark.parametrize(("fail_on", "code"), [("high", 1), ("critical", 0)])
def test_exit_code_follows_fail_on(
    server_tls_context: ssl.SSLContext, tmp_path: Path, fail_on: str, code: int
) -> None:
    with FakeImapServer(Behaviour(execute_pipelined_after_starttls=True), server_tls_context) as s:
        out = tmp_path / "r.json"
        rc = cli.main(
            [
                "-p",
                str(s.port),
                "--no-tls-scan",
                "--fail-on",
                fail_on,
                "--format",
                "json",
                "-o",
                str(out),
                "127.0.0.1",
            ]
        )
    assert rc == code
    data = json.loads(out.read_text())
    (host,) = data["hosts"]
    assert [f["id"] for f in host["findings"]] == ["starttls-command-injection"]


def test_many_hosts_sarif_html_and_unreachable(
    server_tls_context: ssl.SSLContext, tmp_path: Path
) -> None:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as closed:
        dead_port = closed.getsockname()[1]
    with FakeImapServer(
        Behaviour(greeting=b"* PREAUTH <script>x</script>\r\n", caps="IMAP4rev1"),
        server_tls_context,
    ) as s:
        hosts = tmp_path / "hosts.txt"
        hosts.write_text("# targets\n127.0.0.1\nlocalhost  # same box\n")
        sarif = tmp_path / "r.sarif"
        rc = cli.main(
            [
                "-p",
                str(s.port),
                "-p",
                str(dead_port),
                "--no-tls-scan",
                "--hosts-file",
                str(hosts),
                "--format",
                "sarif",
                "-o",
                str(sarif),
            ]
        )
        html = tmp_path / "r.html"
        cli.main(
            ["-p", str(s.port), "--no-tls-scan", "--format", "html", "-o", str(html), "127.0.0.1"]
        )
    assert rc == 1
    doc = json.loads(sarif.read_text())
    assert doc["version"] == "2.1.0"
    run = doc["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert "preauth-cleartext" in rule_ids
    for result in run["results"]:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note")
    page = html.read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "preauth-cleartext" in page


def test_unreachable_only_host_exits_0(tmp_path: Path) -> None:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as closed:
        dead_port = closed.getsockname()[1]
    out = tmp_path / "r.json"
    rc = cli.main(
        ["-p", str(dead_port), "--no-tls-scan", "--format", "json", "-o", str(out), "127.0.0.1"]
    )
    assert rc == 0
    (host,) = json.loads(out.read_text())["hosts"]
    assert host["reachable"] is False and host["findings"][0]["id"] == "host-unreachable"


@pytest.mark.parametrize(
    ("hosts", "fmt", "to_stdout", "tty", "wanted"),
    [
        (3, "terminal", True, True, True),
        (3, "json", False, True, True),  # the report goes to a file: progress on stderr is fine
        (3, "json", True, True, False),
        (3, "sarif", True, True, False),
        (3, "html", True, True, False),
        (3, "terminal", True, False, False),  # stderr is not a terminal
        (1, "terminal", True, True, False),  # one host: nothing to count
    ],
)
def test_progress_wanted(hosts: int, fmt: str, to_stdout: bool, tty: bool, wanted: bool) -> None:
    assert (
        cli.progress_wanted(hosts=hosts, fmt=fmt, to_stdout=to_stdout, stderr_is_terminal=tty)
        is wanted
    )


def _run_in_pty(args: list[str], timeout_s: float = 60) -> tuple[int, str]:
    """Run ``mailfort scan`` with stdout and stderr on a pseudo-terminal; (status, screen)."""
    import os
    import pty
    import select
    import subprocess
    import sys
    import time

    leader, follower = pty.openpty()
    env = dict(os.environ, TERM="xterm-256color", COLUMNS="100")
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "mailfort.cli.scan", *args],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    out = b""
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
            elif proc.poll() is not None:
                break
        status = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        os.close(leader)
    return status, out.decode("utf-8", "replace")


def test_progress_shown_on_a_terminal_for_many_hosts(
    server_tls_context: ssl.SSLContext, tmp_path: Path
) -> None:
    with FakeImapServer(Behaviour(), server_tls_context) as s:
        hosts = tmp_path / "hosts.txt"
        hosts.write_text("127.0.0.1\nlocalhost\n")
        base = ["-p", str(s.port), "--no-tls-scan", "--hosts-file", str(hosts)]
        status, screen = _run_in_pty(base)
        assert status == 0, screen
        assert "scanning" in screen and "2/2" in screen
        assert "localhost" in screen  # the report itself followed
        status, screen = _run_in_pty([*base, "--format", "json"])
        assert status == 0, screen
        assert "scanning" not in screen
        assert json.loads(screen[screen.index("{") :])["hosts"][0]["host"] == "127.0.0.1"


def test_idle_probe_from_the_command_line(
    server_tls_context: ssl.SSLContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli.main(["--idle-probe", "5", "127.0.0.1"]) == 2  # needs --auth-user
    monkeypatch.setenv(cli.PASSWORD_ENV, "s3cret-pw")
    behaviour = Behaviour(accounts={"ops": "s3cret-pw"}, idle_drop_after_s=1.0)
    with FakeImapServer(behaviour, server_tls_context) as s:
        out = tmp_path / "r.json"
        rc = cli.main(
            ["-p", str(s.port), "--no-tls-scan", "--auth-user", "ops", "--idle-probe", "10"]
            + ["--fail-on", "low", "--format", "json", "-o", str(out), "127.0.0.1"]
        )
    assert rc == 1
    text = out.read_text()
    assert "s3cret-pw" not in text
    (host,) = json.loads(text)["hosts"]
    assert "idle-dropped-early" in {f["id"] for f in host["findings"]}
