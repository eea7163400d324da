"""Event ids accepted within the dedup horizon, measured in watermark time.

An id is a duplicate while the partition's watermark has advanced by at most
the horizon since the id was accepted. Expiry runs whenever the watermark moves,
so the outcome never depends on how messages were batched.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final


class DedupMemory:
    """Ids with the watermark at which each was (last) accepted, oldest first.

    The acceptances are kept in two lists (watermarks, ids) read from ``_head`` on:
    no tuple per event (each one a garbage collector's object that lives as long as
    the horizon), and list appends compile to native calls where a deque's do not."""

    __slots__ = ("_head", "_horizon", "_ids", "_marks", "_order")

    def __init__(self, horizon: float) -> None:
        self._horizon = horizon
        self._ids: dict[str, float] = {}
        self._marks: list[float] = []
        self._order: list[str] = []
        self._head = 0

    def __contains__(self, event_id: str) -> bool:
        return event_id in self._ids

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DedupMemory) and self._ids == other._ids

    __hash__ = None  # type: ignore[assignment]

    def items(self) -> list[tuple[str, float]]:
        """``(id, watermark)`` pairs in acceptance order: remembering them again in this
        order rebuilds an equal memory."""
        return list(self._ids.items())

    def remember(self, event_id: str, watermark: float) -> None:
        ids = self._ids
        if event_id in ids:
            del ids[event_id]
        ids[event_id] = watermark
        self._marks.append(watermark)
        self._order.append(event_id)

    def expire(self, watermark: float) -> None:
        """Forget ids accepted more than the horizon before ``watermark``."""
        oldest_kept = watermark - self._horizon
        marks, order, ids = self._marks, self._order, self._ids
        head = self._head
        end = len(marks)
        while head < end and marks[head] < oldest_kept:
            accepted = marks[head]
            event_id = order[head]
            head += 1
            if ids.get(event_id) == accepted:
                del ids[event_id]
        if head > _COMPACT and head * 4 > end:
            del marks[:head]
            del order[:head]
            head = 0
        self._head = head


_COMPACT: Final = 1024
"""Expired acceptances leave the lists once they are more than this many and more than a
quarter of them (moving the rest costs at most 3 steps per acceptance, amortised, and
holds expired ids at most a third as many as live ones)."""
