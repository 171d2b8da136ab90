"""Sequence sets (RFC 9051 §9 ``sequence-set``) as values.

``sequence-set = (seq-number / seq-range) ["," sequence-set] / "$"``. ``*`` is kept as ``None``
and resolved against the largest number in use when the set is applied.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["SeqRange", "SequenceSet"]


@dataclass(frozen=True, slots=True)
class SeqRange:
    """``seq-range``/``seq-number``: ``first:last``; ``None`` stands for ``*``."""

    first: int | None
    last: int | None

    def bounds(self, largest: int) -> tuple[int, int]:
        """Inclusive (low, high) with ``*`` = ``largest``; order-insensitive as RFC 9051 says."""
        a = largest if self.first is None else self.first
        b = largest if self.last is None else self.last
        return (a, b) if a <= b else (b, a)


@dataclass(frozen=True, slots=True)
class SequenceSet:
    """A parsed ``sequence-set``. ``is_saved`` is ``$`` (SEARCHRES, RFC 5182)."""

    ranges: tuple[SeqRange, ...]
    is_saved: bool = False

    @classmethod
    def saved(cls) -> SequenceSet:
        return cls((), True)

    @classmethod
    def of(cls, *numbers: int) -> SequenceSet:
        return cls(tuple(SeqRange(n, n) for n in numbers))

    def intervals(self, largest: int) -> list[tuple[int, int]]:
        """Merged, sorted inclusive intervals; empty when ``largest`` is 0 and ``*`` is used."""
        spans = sorted(r.bounds(largest) for r in self.ranges)
        merged: list[tuple[int, int]] = []
        for lo, hi in spans:
            if lo <= 0 and hi <= 0:
                continue
            lo = max(lo, 1)
            if merged and lo <= merged[-1][1] + 1:
                if hi > merged[-1][1]:
                    merged[-1] = (merged[-1][0], hi)
            else:
                merged.append((lo, hi))
        return merged

    def contains(self, n: int, largest: int) -> bool:
        for r in self.ranges:
            lo, hi = r.bounds(largest)
            if lo <= n <= hi:
                return True
        return False

    def iter(self, largest: int) -> Iterator[int]:
        """Every number in the set, ascending, capped at ``largest``."""
        for lo, hi in self.intervals(largest):
            yield from range(lo, min(hi, largest) + 1)

    def to_wire(self) -> str:
        if self.is_saved:
            return "$"

        def num(v: int | None) -> str:
            return "*" if v is None else str(v)

        return ",".join(
            num(r.first) if r.first == r.last else f"{num(r.first)}:{num(r.last)}"
            for r in self.ranges
        )

    @classmethod
    def from_sorted_ints(cls, numbers: list[int]) -> SequenceSet:
        """Compress ascending ints into ranges (for COPYUID, ESEARCH ALL)."""
        ranges: list[SeqRange] = []
        start = prev = None
        for n in numbers:
            if start is None:
                start = prev = n
            elif prev is not None and n == prev + 1:
                prev = n
            else:
                ranges.append(SeqRange(start, prev))
                start = prev = n
        if start is not None:
            ranges.append(SeqRange(start, prev))
        return cls(tuple(ranges))
