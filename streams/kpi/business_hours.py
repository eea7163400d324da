"""Business-hours clock: how many seconds of an interval fall inside opening hours.

SLA timers (first reply, resolution) only run while the contact centre is open,
so every reply or solve on the hot path asks "how much open time lies between
these two POSIX timestamps?". This module answers that with the standard
library only, so it can be tested exhaustively without a broker.

Semantics, chosen so that daylight-saving time needs no special cases: an
instant is open iff its local wall-clock time in the calendar's zone falls in
an open range of its local weekday and its local date is not a holiday.
``business_seconds`` is the real-time measure of open instants in
``[start, end)``. Hence on a spring-forward day the skipped wall-clock hour
contributes nothing, and on a fall-back day the repeated wall-clock hour is
counted twice (both of its real occurrences are open).

Speed comes from caching, per UTC day (a fixed 86,400-second slice of the
timeline, unlike local days whose length varies with DST), the open intervals
as instants with their prefix sums; a query costs two bisects plus one cached
total per whole day in between.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["BusinessCalendar"]

_DAY: Final = 86_400
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_EPOCH_WEEKDAY: Final = dt.date(1970, 1, 1).weekday()
_RANGE = re.compile(r"\s*(\d{2}):(\d{2})\s*-\s*(\d{2}):(\d{2})\s*")
_MAX_CACHED_DAYS: Final = 8_192
_BLOCK_DAYS: Final = 256
"""Bounds memory for a long-running worker; a cleared cache only costs recomputation."""

_Ranges = tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class _Day:
    """Open intervals of one UTC day as sorted, disjoint instants with prefix sums."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]
    cumulative: tuple[int, ...]
    total: int

    def open_before(self, ts: float) -> float:
        """Open seconds between the start of this day and ``ts`` (inside the day)."""
        i = bisect_right(self.starts, ts)
        if i == 0:
            return 0.0
        return self.cumulative[i] - max(0.0, self.ends[i - 1] - ts)


def _parse_clock(hh: str, mm: str, *, allow_24: bool) -> int | None:
    hours, minutes = int(hh), int(mm)
    if minutes > 59 or hours > 24 or (hours == 24 and (minutes or not allow_24)):
        return None
    return hours * 3600 + minutes * 60


def _parse_day(day: str, ranges: Sequence[str]) -> _Ranges:
    """Validate one weekday's ranges and merge touching ones (e.g. 09:00-12:00, 12:00-13:00)."""
    if isinstance(ranges, str):
        ranges = [ranges]
    parsed: list[tuple[int, int, str]] = []
    for text in ranges:
        match = _RANGE.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise ValueError(f"{day}: range {text!r} is not of the form 'HH:MM-HH:MM'")
        start = _parse_clock(match[1], match[2], allow_24=False)
        end = _parse_clock(match[3], match[4], allow_24=True)
        if start is None or end is None:
            raise ValueError(f"{day}: range {text!r} has an invalid time of day")
        if start >= end:
            raise ValueError(f"{day}: range {text!r} must start before it ends")
        parsed.append((start, end, text))
    parsed.sort()
    merged: list[tuple[int, int]] = []
    for i, (start, end, text) in enumerate(parsed):
        if i and start < parsed[i - 1][1]:
            raise ValueError(f"{day}: range {text!r} overlaps range {parsed[i - 1][2]!r}")
        if merged and merged[-1][1] == start:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return tuple(merged)


def _parse_holiday(holiday: str | dt.date) -> int:
    """Holidays are stored as days since 1970-01-01 in local (wall-clock) terms."""
    if isinstance(holiday, str):
        try:
            holiday = dt.date.fromisoformat(holiday.strip())
        except ValueError:
            raise ValueError(f"holiday {holiday!r} is not an ISO date (YYYY-MM-DD)") from None
    return holiday.toordinal() - _EPOCH_ORDINAL


class BusinessCalendar:
    """Weekly open ranges in an IANA time zone, minus holidays.

    Build with :meth:`from_spec` or :meth:`always_open`; the constructor takes
    already-validated data. Instances are not shared across threads (the per-day
    cache is a plain dict), which fits Faust's single event loop.
    """

    __slots__ = ("_always", "_blocks", "_cache", "_holidays", "_timezone", "_week", "_zone")

    def __init__(
        self, zone: ZoneInfo, week: tuple[_Ranges, ...], holidays: frozenset[int], always: bool
    ) -> None:
        self._zone = zone
        self._timezone = zone.key
        self._week = week
        self._holidays = holidays
        self._always = always
        self._cache: dict[int, _Day] = {}
        self._blocks: dict[int, float] = {}

    @classmethod
    def from_spec(
        cls,
        timezone: str,
        hours: Mapping[str, Sequence[str]],
        holidays: Iterable[str | dt.date] = (),
    ) -> BusinessCalendar:
        """Build a calendar from config-style data; raise ``ValueError`` naming what is wrong.

        ``hours`` maps ``"mon"``..``"sun"`` to ranges like ``"09:00-13:00"`` (``"24:00"``
        allowed as an end); unlisted days are closed. ``holidays`` are local dates.
        """
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise ValueError(f"unknown time zone {timezone!r}") from None
        unknown = sorted(set(hours) - set(_WEEKDAYS))
        if unknown:
            raise ValueError(f"unknown weekday key(s) {unknown}; expected {list(_WEEKDAYS)}")
        week = tuple(_parse_day(day, hours.get(day, ())) for day in _WEEKDAYS)
        days = frozenset(_parse_holiday(h) for h in holidays)
        return cls(zone, week, days, always=False)

    @classmethod
    def always_open(cls) -> BusinessCalendar:
        """A 24x7 calendar: business time is elapsed time, exactly."""
        return cls(ZoneInfo("UTC"), (((0, _DAY),),) * 7, frozenset(), always=True)

    def __repr__(self) -> str:
        return f"BusinessCalendar(timezone={self._timezone!r}, always_open={self._always})"

    def business_seconds(self, start: float, end: float) -> float:
        """Seconds of ``[start, end)`` that are open; negative when ``end < start``."""
        if self._always:
            return end - start
        if end < start:
            return -self.business_seconds(end, start)
        first, last = int(start // _DAY), int(end // _DAY)
        day = self._day(first)
        if first == last:
            return day.open_before(end) - day.open_before(start)
        return (
            day.total
            - day.open_before(start)
            + self._whole_days(first + 1, last)
            + self._day(last).open_before(end)
        )

    def _whole_days(self, lo: int, hi: int) -> float:
        """Open seconds of the UTC days ``lo <= index < hi``: whole blocks of days come
        from a permanent per-block cache, so a span of decades costs no more than months."""
        seconds = 0.0
        index = lo
        while index < hi:
            block, offset = divmod(index, _BLOCK_DAYS)
            if offset == 0 and index + _BLOCK_DAYS <= hi:
                total = self._blocks.get(block)
                if total is None:
                    total = self._blocks[block] = math.fsum(
                        self._day(i).total for i in range(index, index + _BLOCK_DAYS)
                    )
                seconds += total
                index += _BLOCK_DAYS
            else:
                seconds += self._day(index).total
                index += 1
        return seconds

    def is_open(self, ts: float) -> bool:
        """Whether the instant ``ts`` lies inside open hours (range starts are inclusive)."""
        if self._always:
            return True
        day = self._day(int(ts // _DAY))
        i = bisect_right(day.starts, ts)
        return i > 0 and ts < day.ends[i - 1]

    def _day(self, index: int) -> _Day:
        day = self._cache.get(index)
        if day is None:
            if len(self._cache) >= _MAX_CACHED_DAYS:
                self._cache.clear()
            day = self._cache[index] = self._compute_day(index * _DAY)
        return day

    def _offset(self, ts: int) -> int:
        offset = dt.datetime.fromtimestamp(ts, self._zone).utcoffset() or dt.timedelta()
        return int(offset.total_seconds())

    def _offset_segments(self, lo: int, hi: int) -> list[tuple[int, int, int]]:
        """Split ``[lo, hi)`` into pieces of constant UTC offset.

        Zones never change offset twice within an hour, so hourly probes find every
        transition, and a bisection over whole seconds pins it down exactly.
        """
        segments: list[tuple[int, int, int]] = []
        seg_start, offset = lo, self._offset(lo)
        for probe in range(lo + 3600, hi + 1, 3600):
            probe_offset = self._offset(probe)
            if probe_offset == offset:
                continue
            before, after = probe - 3600, probe
            while after - before > 1:
                middle = (before + after) // 2
                if self._offset(middle) == offset:
                    before = middle
                else:
                    after = middle
            segments.append((seg_start, after, offset))
            seg_start, offset = after, self._offset(after)
        segments.append((seg_start, hi, offset))
        return segments

    def _compute_day(self, lo: int) -> _Day:
        """Open instants in ``[lo, lo + 1 day)``: map each wall-clock range back per offset."""
        hi = lo + _DAY
        pieces: list[tuple[int, int]] = []
        for seg_lo, seg_hi, offset in self._offset_segments(lo, hi):
            for local_day in range((seg_lo + offset) // _DAY, (seg_hi - 1 + offset) // _DAY + 1):
                if local_day in self._holidays:
                    continue
                base = local_day * _DAY - offset
                for open_s, close_s in self._week[(local_day + _EPOCH_WEEKDAY) % 7]:
                    a, b = max(base + open_s, seg_lo), min(base + close_s, seg_hi)
                    if a < b:
                        pieces.append((a, b))
        pieces.sort()
        starts: list[int] = []
        ends: list[int] = []
        for a, b in pieces:
            if ends and a <= ends[-1]:
                ends[-1] = max(ends[-1], b)
            else:
                starts.append(a)
                ends.append(b)
        cumulative = [0]
        for a, b in zip(starts, ends, strict=True):
            cumulative.append(cumulative[-1] + b - a)
        return _Day(tuple(starts), tuple(ends), tuple(cumulative), cumulative[-1])
