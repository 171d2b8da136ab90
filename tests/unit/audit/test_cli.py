"""``mailfort audit`` and ``mailfort report`` through their argparse entry points."""

from __future__ import annotations

import argparse
import json
import sqlite3
from pathlib import Path

import pytest
from audit_fakes import FakeClock

from mailfort.audit.chain import AuditChain, ChainError, load_signing_key
from mailfort.audit.events import (
    AlertRaised,
    AlertSeverity,
    LoginFailed,
    LoginFailureReason,
    LoginSucceeded,
    SourceBanned,
)
from mailfort.cli import audit as audit_cli
from mailfort.cli import report as report_cli


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mailfort")
    parser.add_argument("-c", "--config")
    sub = parser.add_subparsers(dest="command")
    audit_cli.add_parser(sub)
    report_cli.add_parser(sub)
    return parser.parse_args(list(argv))


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    config = tmp_path / "mailfort.toml"
    config.write_text('[storage]\ndata_dir = "data"\n')
    return config, tmp_path / "keys" / "audit.key"


def _fill(db: Path, key: Path, now: float) -> None:
    clock = FakeClock(now - 3600)
    chain = AuditChain(db, clock, signer=load_signing_key(key), checkpoint_every=4)
    events = [LoginFailed(at=clock.now() + i, user="bob@example.com", peer="203.0.113.9",
                          reason=LoginFailureReason.BAD_PASSWORD, is_counted=True)
              for i in range(6)]
    chain.append([*events,
                  LoginSucceeded(at=clock.now() + 10, user="alice@example.com",
                                 peer="192.0.2.1", method="password", is_known_source=True),
                  SourceBanned(at=clock.now() + 20, source="203.0.113.9",
                               reason="6 failed logins", until=None, repeats=1),
                  AlertRaised(at=clock.now() + 30, kind="new_device",
                              severity=AlertSeverity.LOW, summary="new <b>sign-in</b>",
                              user="alice@example.com", sources=("192.0.2.1",))])
    chain.close()


def test_keygen_verify_tamper_search_export_report(
        setup: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import time
    config, key = setup
    base = ("-c", str(config), "audit", "--key", str(key))
    assert audit_cli.run(_parse(*base, "keygen")) == 0
    assert key.is_file() and (key.parent / "audit.key.pub").is_file()
    assert "audit.key.pub" in capsys.readouterr().out
    db = tmp_path / "data" / "audit.db"
    _fill(db, key, time.time())

    assert audit_cli.run(_parse(*base, "verify")) == 0
    assert capsys.readouterr().out.startswith("OK: 9 records")

    assert audit_cli.run(_parse(*base, "search", "--user", "bob@example.com", "--since",
                                "2h")) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 6 and all("LoginFailed" in ln for ln in lines)

    out = tmp_path / "export.jsonl"
    assert audit_cli.run(_parse(*base, "export", "--ip", "203.0.113.9", "-o", str(out))) == 0
    docs = [json.loads(line) for line in out.read_text().splitlines()]
    assert [d["type"] for d in docs] == ["LoginFailed"] * 6 + ["SourceBanned"]
    assert docs[0]["seq"] == 1 and docs[1]["prev_hash"] == docs[0]["hash"]

    html_file = tmp_path / "report.html"
    assert report_cli.run(_parse("-c", str(config), "report", "--since", "24h", "--html",
                                 str(html_file))) == 0
    text = capsys.readouterr().out
    assert "203.0.113.9" in text and "Top failing sources" in text
    page = html_file.read_text()
    assert "<svg" in page and "new &lt;b&gt;sign-in&lt;/b&gt;" in page and "<script" not in page

    with sqlite3.connect(str(db)) as conn:
        conn.execute("UPDATE records SET body = replace(body, 'bob@', 'eve@') WHERE seq = 3")
    assert audit_cli.run(_parse(*base, "verify")) == 1
    assert "record 3 altered" in capsys.readouterr().out


def test_keygen_refuses_a_key_inside_the_data_directory(setup: tuple[Path, Path],
                                                        tmp_path: Path) -> None:
    config, _ = setup
    args = _parse("-c", str(config), "audit", "--key", str(tmp_path / "data" / "k.key"),
                  "keygen")
    with pytest.raises(ChainError):
        audit_cli.run(args)
