from __future__ import annotations

import pytest

from mailfort.acl.quota import (
    InvalidQuota,
    QuotaLimits,
    QuotaUsage,
    Resource,
    exceeded,
    format_size,
    limits_from_units,
    parse_size,
    quota_resources,
    storage_units,
)


def test_storage_units_round_up() -> None:
    assert storage_units(0) == 0
    assert storage_units(1) == 1
    assert storage_units(1024) == 1
    assert storage_units(1025) == 2


@pytest.mark.parametrize(("text", "octets"), [("1G", 1024**3), ("500M", 500 * 1024**2),
                                               ("10k", 10240), ("123", 123), ("1GiB", 1024**3),
                                               ("2 TB", 2 * 1024**4), ("none", None),
                                               ("Unlimited", None)])
def test_parse_size(text: str, octets: int | None) -> None:
    assert parse_size(text) == octets


@pytest.mark.parametrize("bad", ["", "-1", "1X", "1.5G", "G", "9" * 20])
def test_parse_size_refuses(bad: str) -> None:
    with pytest.raises(InvalidQuota):
        parse_size(bad)


def test_format_size() -> None:
    assert format_size(1024**3) == "1G"
    assert format_size(1500) == "1500B"
    assert format_size(None) == "unlimited"


def test_exceeded_only_when_growing_past_limit() -> None:
    limits = QuotaLimits(storage_bytes=1000, messages=2)
    assert exceeded(QuotaUsage(0, 0), QuotaUsage(1000, 2), limits) is None  # at limit: fine
    assert exceeded(QuotaUsage(0, 0), QuotaUsage(1001, 1), limits) is Resource.STORAGE
    assert exceeded(QuotaUsage(0, 2), QuotaUsage(10, 3), limits) is Resource.MESSAGE
    # Already over (limit lowered): shrinking or staying level is allowed.
    assert exceeded(QuotaUsage(5000, 9), QuotaUsage(4000, 8), limits) is None
    assert exceeded(QuotaUsage(5000, 9), QuotaUsage(5000, 9), limits) is None
    assert exceeded(QuotaUsage(0, 0), QuotaUsage(10**12, 10**9), QuotaLimits()) is None


def test_quota_resources_and_setquota() -> None:
    limits = limits_from_units([("STORAGE", 512), ("message", 1000)])
    assert limits == QuotaLimits(512 * 1024, 1000)
    assert quota_resources(QuotaUsage(1025, 3), limits) == [("STORAGE", 2, 512),
                                                            ("MESSAGE", 3, 1000)]
    assert quota_resources(QuotaUsage(1, 1), QuotaLimits()) == []
    assert limits_from_units([]) == QuotaLimits()
    for bad in ([("STORAGE", -1)], [("FOO", 1)], [("STORAGE", 1), ("storage", 2)]):
        with pytest.raises(InvalidQuota):
            limits_from_units(bad)
