"""STYLE.md §2 as a test: the dependency direction between packages, checked on the AST of
every module under src/mailfort (what import-linter would enforce)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest

SRC: Final = Path(__file__).resolve().parents[2] / "src" / "mailfort"

LAYERS: Final = {
    "core": 0, "mail": 1, "config": 1, "imap": 2, "lmtp": 2, "store": 2, "audit": 3,
    "auth": 4, "guard": 4, "acl": 4, "service": 5, "server": 6, "console": 6, "scan": 6,
    "cli": 7,
}
SANS_IO: Final = ("core", "mail", "imap", "lmtp")
IO_MODULES: Final = frozenset({"asyncio", "socket", "ssl", "logging", "sqlite3", "aiosqlite",
                               "asyncpg", "starlette"})
BACKENDS: Final = ("mailfort.store.sqlite", "mailfort.store.postgres")
# Known departures, each to be resolved or recorded in docs/decisions/. (auth.login reaches
# the guard through its own ``LoginGuard`` Protocol: no exception needed.)
KNOWN_EXCEPTIONS: Final[frozenset[tuple[str, str]]] = frozenset()


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


def _imports(module: str, path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield target
            for alias in node.names:  # "from mailfort.store import sqlite"
                yield f"{target}.{alias.name}"


def _package(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "mailfort" else None


MODULES: Final = list(_modules())


@pytest.mark.parametrize(("module", "path"), MODULES, ids=[m for m, _ in MODULES])
def test_imports_follow_the_layers(module: str, path: Path) -> None:
    own = _package(module)
    if own is None or own not in LAYERS:
        return
    problems: list[str] = []
    for target in set(_imports(module, path)):
        other = _package(target)
        top = target.split(".")[0]
        if own in SANS_IO and top in IO_MODULES:
            problems.append(f"{module} (sans-I/O) imports {target}")
        if other is None or other == own or other not in LAYERS:
            continue
        if (module, f"mailfort.{other}") in KNOWN_EXCEPTIONS:
            continue
        if LAYERS[other] >= LAYERS[own]:
            problems.append(f"{module} (layer {LAYERS[own]}) imports {target} "
                            f"(layer {LAYERS[other]})")
        if target.startswith(BACKENDS) and module != "mailfort.cli.bootstrap":
            problems.append(f"{module} imports a concrete store backend {target}")
    assert not problems, "\n".join(sorted(problems))
