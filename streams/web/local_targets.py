"""Target states for the API of a worker that does not publish.

The publisher evaluates its targets as it publishes; any other worker holds the
same merged state but no evaluated book, so it evaluates one itself when asked.
That costs as much as a publish (about 0.4 s at 5,000 agents), and every open
board asks once a second, so the states are kept for one publish interval: a
board on any worker is then as fresh as one on the publisher.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from streams.kpi.merge import Merger
from streams.targets.evaluate import TargetBook, TargetState


class LocalTargets:
    """A target book evaluated on demand, at most once per ``every`` seconds."""

    def __init__(
        self,
        new_book: Callable[[], TargetBook],
        every: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._new_book = new_book
        self._every = every
        self._clock = clock
        self._book: TargetBook | None = None
        self._at = float("-inf")
        self.evaluations = 0

    def states(self, merger: Merger) -> Iterable[TargetState]:
        now = self._clock()
        if self._book is None or now - self._at >= self._every:
            book = self._book or self._new_book()
            book.evaluate(merger)
            self._book, self._at = book, now
            self.evaluations += 1
        return self._book.states.values()

    def forget(self) -> None:
        """Drop the cached book (this worker became the publisher, or stopped being it)."""
        self._book = None
