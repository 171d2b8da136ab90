"""House rules that a tool checks (STYLE.md §6): `mypy --strict` and ruff are clean over src/.
A regression here fails the suite instead of waiting for someone to run `make lint`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, check=False)


def test_mypy_strict_is_clean_over_src(tmp_path: Path) -> None:
    result = _run("mypy", "--cache-dir", str(tmp_path / "mypy"), "src")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_is_clean_over_src() -> None:
    result = _run("ruff", "check", "--no-cache", "src")
    assert result.returncode == 0, result.stdout + result.stderr
