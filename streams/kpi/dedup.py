"""Event ids accepted within the dedup horizon, measured in watermark time.

An id is a duplicate while the partition's watermark has advanced by at most
the horizon since the id was accepted. Expiry runs whenever the watermark moves,
so the outcome never depends on how messages were batched.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator


class DedupMemory:
    """Ids with the watermark at which each was (last) accepted, oldest first."""

    __slots__ = ("_horizon", "_ids", "_order")

    def __init__(self, horizon: float) -> None:
        self._horizon = horizon
        self._ids: dict[str, float] = {}
        self._order: deque[tuple[float, str]] = deque()

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
        self._ids.pop(event_id, None)
        self._ids[event_id] = watermark
        self._order.append((watermark, event_id))

    def expire(self, watermark: float) -> None:
        """Forget ids accepted more than the horizon before ``watermark``."""
        oldest_kept = watermark - self._horizon
        order, ids = self._order, self._ids
        while order and order[0][0] < oldest_kept:
            accepted, event_id = order.popleft()
            if ids.get(event_id) == accepted:
                del ids[event_id]
