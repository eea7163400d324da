"""Tumbling event-time windows (hour, day, ISO week, month) aligned to a time zone.

Windows are identified by ``(period index, start epoch seconds)``. Finding the
four windows of an instant is on the hot path, so results are cached per
quarter hour: every real-world UTC offset is a multiple of 15 minutes, so all
instants of one UTC quarter hour share their windows.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

PERIODS = ("hour", "day", "week", "month")
HOUR: Final = 0
DAY: Final = 1
WEEK: Final = 2
MONTH: Final = 3
_QUARTER: Final = 900


class WindowClock:
    """Window boundaries of one reporting time zone."""

    def __init__(self, timezone: str) -> None:
        self.zone = ZoneInfo(timezone)
        self._cache: dict[int, tuple[int, int, int, int]] = {}
        self._hour_ends: dict[int, int] = {}
        # The last answers (consecutive events mostly share their quarter hour), first
        # those of the epoch's quarter hour: real ones, so no sentinel can be asked for.
        self._last_bucket = 0
        self._last_starts = self._compute(0)
        self._last_hour = self._last_starts[HOUR]
        self._last_hour_end = self._next_hour(self._last_hour)

    def starts(self, ts: float) -> tuple[int, int, int, int]:
        """Start epochs of the hour, day, week and month windows holding ``ts``."""
        bucket = int(ts // _QUARTER)
        if bucket == self._last_bucket:
            return self._last_starts
        found = self._cache.get(bucket)
        if found is None:
            found = self._compute(bucket * _QUARTER)
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[bucket] = found
        self._last_bucket = bucket
        self._last_starts = found
        return found

    def _compute(self, ts: int) -> tuple[int, int, int, int]:
        local = datetime.fromtimestamp(ts, self.zone)
        hour = int(local.replace(minute=0, second=0, microsecond=0).timestamp())
        day = local.date()
        week = day - timedelta(days=day.weekday())
        return (hour, self._midnight(day), self._midnight(week), self._midnight(day.replace(day=1)))

    def _midnight(self, day: date) -> int:
        return _midnight(day, self.zone)

    def end(self, period: int, start: int) -> int:
        """End epoch (exclusive) of a window."""
        if period == HOUR:
            if start == self._last_hour:
                return self._last_hour_end
            found = self._hour_ends.get(start)
            if found is None:
                if len(self._hour_ends) > 100_000:
                    self._hour_ends.clear()
                found = self._hour_ends[start] = self._next_hour(start)
            self._last_hour = start
            self._last_hour_end = found
            return found
        day = datetime.fromtimestamp(start, self.zone).date()
        if period == DAY:
            nxt = day + timedelta(days=1)
        elif period == WEEK:
            nxt = day + timedelta(days=7)
        else:
            nxt = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        return self._midnight(nxt)

    def _next_hour(self, start: int) -> int:
        """The first instant after ``start`` in another local hour: ``start + 3600``,
        except where the offset changes by a fraction of an hour (Lord Howe's 30-minute
        DST shift makes a local hour of 30 or 90 minutes)."""
        ts = start + _QUARTER
        while self.starts(ts)[HOUR] == start:
            ts += _QUARTER
        return ts

    def previous(self, period: int, start: int) -> int:
        """Start epoch of the window before the one starting at ``start``."""
        return self.starts(start - 1)[period]

    def iso(self, ts: int) -> str:
        """ISO 8601 with the zone's offset at that instant."""
        return _iso(ts, self.zone)


@lru_cache(maxsize=65536)
def _midnight(day: date, zone: ZoneInfo) -> int:
    """First instant of a local date.

    ``fold=0`` gives the first of a repeated midnight and, where a zone skips
    midnight (clocks jump from 00:00 to 01:00), the moment of the jump.
    """
    return int(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp())


@lru_cache(maxsize=65536)
def _iso(ts: int, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(ts, zone).isoformat()
