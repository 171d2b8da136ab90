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
