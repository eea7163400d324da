"""What a source tells its user: progress at most once a second, bad lines, a summary.

Every bad line is counted by reason; the first :data:`SHOWN` are printed with
``file:line`` and the reason, the rest are counted and said to be there.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TextIO

SHOWN = 20


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


@dataclass
class Report:
    """Counts of one run of a source, and how they are shown."""

    out: TextIO = field(default_factory=lambda: sys.stderr)
    interval: float = 1.0
    total_bytes: int = 0
    """Bytes on disk of every input (for the ETA); 0 when unknown (following)."""
    shown: int = SHOWN
    lines: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    """Lines by what they were (queue_log event type, or contract event type)."""
    bad: Counter[str] = field(default_factory=Counter)
    sent: int = 0
    """Events acknowledged by the broker."""
    started: float = field(default_factory=time.monotonic)
    _printed: int = 0
    _last: float = 0.0
    _last_lines: int = -1

    def bad_line(self, where: str, reason: str, detail: str) -> None:
        self.bad[reason] += 1
        if self._printed < self.shown:
            self._printed += 1
            print(f"{where}: {reason}: {detail}", file=self.out, flush=True)

    def note(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    @property
    def bad_total(self) -> int:
        return sum(self.bad.values())

    def progress(self, done_bytes: int, force: bool = False) -> None:
        now = time.monotonic()
        if not force and (now - self._last < self.interval or self.lines == self._last_lines):
            return  # at most once a second, and never for nothing new (an idle follower)
        self._last, self._last_lines = now, self.lines
        elapsed = max(now - self.started, 1e-9)
        rate = self.lines / elapsed
        text = f"{self.lines:,} lines ({rate:,.0f} lines/s), {self.sent:,} events sent"
        if self.total_bytes:
            share = min(1.0, done_bytes / self.total_bytes)
            left = elapsed * (1 - share) / share if share > 0 else 0.0
            text += f", {share:.0%}, ETA {_duration(left)}"
        kinds = " ".join(f"{kind} {count:,}" for kind, count in self.kinds.most_common(8))
        print(f"{text}; {kinds}; bad {self.bad_total:,}", file=self.out, flush=True)

    def summary(self, title: str, notes: list[str]) -> None:
        elapsed = time.monotonic() - self.started
        more = self.bad_total - self._printed
        if more > 0:
            print(f"... and {more:,} more bad lines (counted below)", file=self.out)
        rate = self.lines / elapsed if elapsed > 0 else 0.0
        print(
            f"{title}: {self.lines:,} lines in {elapsed:.1f} s ({rate:,.0f} lines/s), "
            f"{self.sent:,} events sent, {self.bad_total:,} bad lines",
            file=self.out,
        )
        for kind, count in sorted(self.kinds.items()):
            print(f"  {kind}: {count:,}", file=self.out)
        for reason, count in sorted(self.bad.items()):
            print(f"  bad ({reason}): {count:,}", file=self.out)
        for note in notes:
            print(f"  {note}", file=self.out)
        self.out.flush()
