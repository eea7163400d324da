"""The input offsets each source's merged partials cover, to merge each partial once.

A partial covers the input offsets ``[first, next)`` of one source partition: the
fold takes every offset once, so two partials of a source never overlap unless
one is a copy of the other (a producer resending a record the broker had
appended before it died). Ranges are kept merged: in the usual case, partials
arriving in offset order, each source holds a single range.
"""

from __future__ import annotations

from collections.abc import Iterable

Range = tuple[int, int]


class CoveredOffsets:
    """Per source, disjoint sorted ``[low, high)`` ranges of merged input offsets."""

    def __init__(self) -> None:
        self._ranges: dict[str, list[Range]] = {}

    def add(self, source: str, first: int, after: int) -> bool:
        """Record ``[first, after)`` for ``source``; False if it was covered already
        (nothing recorded). An empty range is never a repeat."""
        ranges = self._ranges.setdefault(source, [])
        if first >= after:
            return True
        for low, high in ranges:
            if low <= first and after <= high:
                return False
        merged: list[Range] = []
        for low, high in sorted([*ranges, (first, after)]):
            if merged and low <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], high))
            else:
                merged.append((low, high))
        self._ranges[source] = merged
        return True

    def items(self) -> dict[str, list[list[int]]]:
        """JSON-ready: source -> ``[[low, high], ...]``."""
        return {source: [list(r) for r in ranges] for source, ranges in self._ranges.items()}

    def load(self, items: dict[str, Iterable[Iterable[int]]]) -> None:
        self._ranges = {
            source: [(int(low), int(high)) for low, high in ranges]
            for source, ranges in items.items()
        }

    def clear(self) -> None:
        self._ranges = {}
