"""RFC 9208 quota arithmetic: resources, limits, usage, and the over-quota decision.

Two resources: ``STORAGE`` (the sum of RFC822.SIZE, reported in units of 1024 octets) and
``MESSAGE`` (the number of messages). A quota root is a user's personal account or one shared
mailbox tree (``Shared/sales`` and its children). Usage itself is kept exact by the store, in
the same write transaction as the insert (store.sqlite.acl); this module only decides.
An operation is refused only if it INCREASES a resource beyond its limit: EXPUNGE and a MOVE
inside one quota root always succeed, even when a lowered limit is already exceeded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Final

from mailfort.core.errors import MailfortError

__all__ = ["Resource", "QuotaLimits", "QuotaUsage", "InvalidQuota", "UNLIMITED",
           "storage_units", "parse_size", "format_size", "exceeded", "quota_resources",
           "limits_from_units", "MAX_LIMIT"]

MAX_LIMIT: Final = 2**63 - 1  # RFC 9208 number64


class InvalidQuota(MailfortError):
    pass


class Resource(Enum):
    STORAGE = "STORAGE"
    MESSAGE = "MESSAGE"


@dataclass(frozen=True, slots=True)
class QuotaLimits:
    """None: no limit on that resource."""

    storage_bytes: int | None = None
    messages: int | None = None

    def limit(self, resource: Resource) -> int | None:
        return self.storage_bytes if resource is Resource.STORAGE else self.messages

    @property
    def is_unlimited(self) -> bool:
        return self.storage_bytes is None and self.messages is None


UNLIMITED: Final = QuotaLimits()


@dataclass(frozen=True, slots=True)
class QuotaUsage:
    storage_bytes: int = 0
    messages: int = 0

    def amount(self, resource: Resource) -> int:
        return self.storage_bytes if resource is Resource.STORAGE else self.messages

    def plus(self, storage_bytes: int, messages: int) -> QuotaUsage:
        return QuotaUsage(self.storage_bytes + storage_bytes, self.messages + messages)


def storage_units(octets: int) -> int:
    """RFC 9208 §5.1: STORAGE is counted in units of 1024 octets, rounded up."""
    return -(-octets // 1024)


def exceeded(before: QuotaUsage, after: QuotaUsage, limits: QuotaLimits) -> Resource | None:
    """The first resource that the change ``before``→``after`` pushed (further) over its
    limit, or None. A resource that did not grow is never refused."""
    for resource in Resource:
        limit = limits.limit(resource)
        grew = after.amount(resource) > before.amount(resource)
        if limit is not None and grew and after.amount(resource) > limit:
            return resource
    return None


_SIZE: Final = re.compile(r"(\d{1,19})\s*([kmgt]?)(i?b?)", re.IGNORECASE)
_FACTOR: Final = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_size(text: str) -> int | None:
    """``1G``, ``500M``, ``10k``, ``123`` (bytes), ``1GiB`` -> bytes (binary units);
    ``none`` / ``unlimited`` -> None. InvalidQuota otherwise."""
    t = text.strip()
    if t.lower() in ("none", "unlimited"):
        return None
    m = _SIZE.fullmatch(t)
    if m is None:
        raise InvalidQuota("not a size (use e.g. 500M, 1G, or none)")
    value = int(m.group(1)) * _FACTOR[m.group(2).lower()]
    if value > MAX_LIMIT:
        raise InvalidQuota("size too large")
    return value


def format_size(octets: int | None) -> str:
    if octets is None:
        return "unlimited"
    for unit, factor in (("T", 1024**4), ("G", 1024**3), ("M", 1024**2), ("K", 1024)):
        if octets >= factor and octets % factor == 0:
            return f"{octets // factor}{unit}"
    return f"{octets}B"


def quota_resources(usage: QuotaUsage, limits: QuotaLimits) -> list[tuple[str, int, int]]:
    """The ``quota-resource`` triples of a QUOTA response (RFC 9208 §5.1): (name, usage,
    limit) in wire units, for limited resources only."""
    out: list[tuple[str, int, int]] = []
    if limits.storage_bytes is not None:
        out.append((Resource.STORAGE.value, storage_units(usage.storage_bytes),
                    storage_units(limits.storage_bytes)))
    if limits.messages is not None:
        out.append((Resource.MESSAGE.value, usage.messages, limits.messages))
    return out


def limits_from_units(pairs: Iterable[tuple[str, int]]) -> QuotaLimits:
    """SETQUOTA's ``(STORAGE 512 MESSAGE 1000)`` -> QuotaLimits; a resource left out becomes
    unlimited (RFC 9208 §4.1.3: the list replaces all limits of the root). InvalidQuota for
    an unknown resource, a repeat, or a negative or over-large value."""
    storage: int | None = None
    messages: int | None = None
    seen: set[str] = set()
    for name, value in pairs:
        key = name.upper()
        if key in seen:
            raise InvalidQuota("resource repeated")
        seen.add(key)
        if value < 0 or value > MAX_LIMIT // 1024:
            raise InvalidQuota("limit out of range")
        if key == Resource.STORAGE.value:
            storage = value * 1024
        elif key == Resource.MESSAGE.value:
            messages = value
        else:
            raise InvalidQuota("unsupported resource")
    return QuotaLimits(storage, messages)
