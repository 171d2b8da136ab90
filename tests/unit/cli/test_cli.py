"""The CLI explains itself and turns bad calls into exit status 2 with a message."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mailfort.cli.main import main


def _run(*args: str, stdin: bytes = b"", cwd: Path | None = None
         ) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "mailfort.cli.main", *args], input=stdin,
                          capture_output=True, timeout=60, cwd=cwd, check=False)


def test_help_lists_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for name in ("serve", "user", "deliver"):
        assert name in out


@pytest.mark.parametrize("sub", [["serve"], ["user"], ["user", "add"], ["deliver"]])
def test_every_subcommand_has_help(sub: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([*sub, "--help"])
    assert info.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_unknown_subcommand_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_bad_config_exits_2_naming_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "m.toml"
    cfg.write_text("[server]\nbogus = 1\n")
    result = _run("--config", str(cfg), "user", "list")
    assert result.returncode == 2
    assert b"server.bogus" in result.stderr
    assert b"Traceback" not in result.stderr


def test_user_lifecycle(tmp_path: Path) -> None:
    cfg = tmp_path / "m.toml"
    cfg.write_text('[storage]\ndata_dir = "data"\n[auth]\nargon2_memory_kib = 1024\n'
                   "argon2_time_cost = 1\n")
    base = ("--config", str(cfg))
    weak = _run(*base, "user", "add", "alice@example.com", "--password-stdin", stdin=b"short\n")
    assert weak.returncode == 2 and b"too short" in weak.stderr
    ok = _run(*base, "user", "add", "alice@example.com", "--password-stdin",
              stdin=b"a-long-enough-passphrase\n")
    assert ok.returncode == 0, ok.stderr
    again = _run(*base, "user", "add", "alice@example.com", "--password-stdin",
                 stdin=b"a-long-enough-passphrase\n")
    assert again.returncode == 2 and b"already exists" in again.stderr
    listed = _run(*base, "user", "list")
    assert b"alice@example.com" in listed.stdout
    passwd = _run(*base, "user", "passwd", "bob@example.com", "--password-stdin",
                  stdin=b"another-long-passphrase\n")
    assert passwd.returncode == 2 and b"no such user" in passwd.stderr
    gone = _run(*base, "user", "del", "alice@example.com", "--yes")
    assert gone.returncode == 0
    assert b"alice" not in _run(*base, "user", "list").stdout


@pytest.mark.parametrize("name", ["../evil", "a/b", "a b", "", ".hidden", "a..b", "x@y@z",
                                  "al\u00ecce", "tab\tname"])
def test_user_names_are_checked(tmp_path: Path, name: str) -> None:
    cfg = tmp_path / "m.toml"
    cfg.write_text('[storage]\ndata_dir = "data"\n')
    result = _run("--config", str(cfg), "user", "add", name, "--password-stdin",
                  stdin=b"a-long-enough-passphrase\n")
    assert result.returncode == 2
    assert b"invalid user name" in result.stderr
    assert b"Traceback" not in result.stderr


def test_user_expire_marks_the_password_and_passwd_clears_it(tmp_path: Path) -> None:
    import asyncio

    from mailfort.store.sqlite import open_sqlite_store

    cfg = tmp_path / "m.toml"
    cfg.write_text('[storage]\ndata_dir = "data"\n[auth]\nargon2_memory_kib = 1024\n'
                   "argon2_time_cost = 1\n")
    base = ("--config", str(cfg))
    assert _run(*base, "user", "add", "carol@example.com", "--password-stdin",
                stdin=b"a-long-enough-passphrase\n").returncode == 0
    missing = _run(*base, "user", "expire", "nobody@example.com")
    assert missing.returncode == 2 and b"no such user" in missing.stderr

    async def must_change() -> bool:
        store = await open_sqlite_store(tmp_path / "data")
        try:
            user = await store.users.get("carol@example.com")
            assert user is not None
            state = await store.security.password_states.get(user.id)
            return state is not None and state.must_change
        finally:
            await store.close()

    assert not asyncio.run(must_change())
    assert _run(*base, "user", "expire", "carol@example.com").returncode == 0
    assert asyncio.run(must_change())
    assert _run(*base, "user", "passwd", "carol@example.com", "--password-stdin",
                stdin=b"another-long-passphrase\n").returncode == 0
    assert not asyncio.run(must_change())
