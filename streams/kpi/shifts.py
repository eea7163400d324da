"""Staffed time per agent, from ``agent.shift`` events: pure interval arithmetic.

A shift is an interval ``[start, end)`` of one agent in one team. Shifts that
overlap or touch are one staffed stretch (a shift sent twice, or a roster and
its correction, counts once), so the book holds per agent a sorted list of
disjoint intervals. Targets read how much of a window the agent was (or is
planned to be) staffed, to judge each agent's pace by the agent's own hours.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator

Interval = tuple[float, float]
AgentKey = tuple[str, str]
"""(team, agent)."""


def insert(intervals: list[Interval], start: float, end: float) -> None:
    """Add ``[start, end)`` to sorted disjoint ``intervals`` in place, merging what it meets."""
    if end <= start:
        return
    starts = [s for s, _ in intervals]
    lo = bisect_left(starts, start)
    if lo > 0 and intervals[lo - 1][1] >= start:
        lo -= 1
    hi = bisect_right(starts, end)
    if lo < hi:
        start = min(start, intervals[lo][0])
        end = max(end, intervals[hi - 1][1])
    intervals[lo:hi] = [(start, end)]


def covered(intervals: list[Interval], lo: float, hi: float) -> float:
    """Seconds of ``[lo, hi)`` inside sorted disjoint ``intervals``."""
    total = 0.0
    first = max(0, bisect_right([e for _, e in intervals], lo))
    for start, end in intervals[first:]:
        if start >= hi:
            break
        total += max(0.0, min(end, hi) - max(start, lo))
    return total


class ShiftBook:
    """Every agent's staffed intervals (merged), across all source partitions."""

    def __init__(self) -> None:
        self.agents: dict[AgentKey, list[Interval]] = {}

    def add(self, team: str, agent: str, start: float, end: float) -> None:
        if end <= start:
            return
        intervals = self.agents.get((team, agent))
        if intervals is None:
            intervals = self.agents[(team, agent)] = []
        insert(intervals, start, end)

    def staffed(self, team: str, agent: str, lo: float, hi: float) -> float | None:
        """Staffed seconds of the agent in ``[lo, hi)``; None when no shift of theirs is known."""
        intervals = self.agents.get((team, agent))
        if not intervals:
            return None
        return covered(intervals, lo, hi)

    def evict(self, before: float) -> None:
        """Forget intervals that end before ``before`` (no window held needs them)."""
        for key in list(self.agents):
            kept = [i for i in self.agents[key] if i[1] > before]
            if kept:
                self.agents[key] = kept
            else:
                del self.agents[key]

    def items(self) -> Iterator[tuple[str, str, float, float]]:
        """Every interval as ``(team, agent, start, end)`` (what a snapshot stores)."""
        for (team, agent), intervals in self.agents.items():
            for start, end in intervals:
                yield team, agent, start, end

    def load(self, rows: Iterable[tuple[str, str, float, float]]) -> None:
        for team, agent, start, end in rows:
            self.add(team, agent, start, end)
