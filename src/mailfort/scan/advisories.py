"""The known-vulnerable version table (``data/vulnerable_versions.json``) and version matching."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from mailfort.scan.report import Severity

__all__ = ["Advisory", "Identification", "affected_by", "identify", "parse_version"]

_VERSION = re.compile(r"(?<![\w.])v?(\d+(?:\.\d+){1,4})(?![\w])")


@dataclass(frozen=True, slots=True)
class Advisory:
    id: str
    product: str
    introduced: str
    fixed: str
    severity: Severity
    summary: str
    source: str = ""  # where the range was checked (URL)


@dataclass(frozen=True, slots=True)
class Identification:
    """A product (table key) and, when disclosed, its version string."""

    product: str
    display: str
    version: str | None


@dataclass(frozen=True, slots=True)
class _Table:
    advisories: tuple[Advisory, ...]
    displays: tuple[tuple[str, str], ...]
    patterns: tuple[tuple[str, re.Pattern[str]], ...]


def parse_version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text))


@cache
def _table() -> _Table:
    raw = json.loads(
        resources.files("mailfort.scan")
        .joinpath("data/vulnerable_versions.json")
        .read_text("utf-8")
    )
    advisories: list[Advisory] = []
    displays: list[tuple[str, str]] = []
    for product, entry in raw["products"].items():
        displays.append((product, str(entry["display"])))
        for adv in entry["advisories"]:
            advisories.append(
                Advisory(
                    id=str(adv["id"]),
                    product=product,
                    introduced=str(adv["introduced"]),
                    fixed=str(adv["fixed"]),
                    severity=Severity.parse(str(adv["severity"])),
                    summary=str(adv["summary"]),
                    source=str(adv.get("source", "")),
                )
            )
    patterns = tuple(
        (str(p["product"]), re.compile(str(p["regex"]), re.IGNORECASE)) for p in raw["patterns"]
    )
    return _Table(tuple(advisories), tuple(displays), patterns)


def identify(text: str, version_hint: str | None = None) -> Identification | None:
    """The product named in ``text`` (a greeting or an ID name) and the version found near it."""
    table = _table()
    for product, pattern in table.patterns:
        match = pattern.search(text)
        if match is None:
            continue
        display = dict(table.displays).get(product, product)
        version = version_hint
        if version is None:
            found = _VERSION.search(text, match.end())
            version = found.group(1) if found else None
        return Identification(product=product, display=display, version=version)
    return None


def affected_by(ident: Identification) -> list[Advisory]:
    if ident.version is None:
        return []
    version = parse_version(ident.version)
    if not version:
        return []
    return [
        adv
        for adv in _table().advisories
        if adv.product == ident.product
        and parse_version(adv.introduced) <= version < parse_version(adv.fixed)
    ]
