"""The known-vulnerable version table: well-formed, sourced, and matched by version."""

from __future__ import annotations

import json
from importlib import resources

from mailfort.scan.advisories import affected_by, identify, parse_version


def test_every_advisory_names_its_source() -> None:
    """The CVE table was checked entry by entry; each entry says where (to re-check it)."""
    raw = json.loads(
        resources.files("mailfort.scan").joinpath("data/vulnerable_versions.json").read_text()
    )
    entries = [a for p in raw["products"].values() for a in p["advisories"]]
    assert entries
    for adv in entries:
        assert adv["source"].startswith("https://"), adv["id"]
        assert adv["id"].startswith("CVE-"), adv["id"]
        assert parse_version(adv["introduced"]) < parse_version(adv["fixed"]), adv["id"]


def test_version_ranges_match_as_documented() -> None:
    ident = identify("* OK Dovecot 2.3.13 ready.")
    assert ident is not None and ident.version == "2.3.13"
    ids = {a.id for a in affected_by(ident)}
    assert "CVE-2020-24386" not in ids  # fixed in 2.3.13 itself
    assert "CVE-2022-30550" in ids and "CVE-2019-11500" not in ids
    cyrus = identify("* OK server Cyrus IMAP v3.9.1 ready")
    assert cyrus is not None
    assert {a.id for a in affected_by(cyrus)} == {"CVE-2024-34055"}
