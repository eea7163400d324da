"""Reference business clock: seconds inside a team's calendar between two instants.

Definition (docs/semantics.md): an instant is open iff its local wall time falls
inside an open range of its local weekday and its local date is not a holiday.

The computation follows that definition literally. The interval is cut into
pieces over which the zone's UTC offset is constant; inside such a piece local
wall time is UTC time plus a fixed offset, so the piece maps one-to-one onto a
stretch of naive wall-clock time, and the open time is the overlap of that
stretch with each local day's open ranges. Converting range endpoints to
instants instead would be wrong around a daylight-saving change (a range that
starts in the spring gap, or wall times that occur twice in autumn).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# No zone changes its offset twice within this step; it only bounds the search.
_PROBE_STEP = timedelta(hours=6)
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class CalendarSpec:
    """A team calendar exactly as in the config file's `calendars` section."""

    timezone: str
    hours: Mapping[str, Sequence[str]] = field(default_factory=dict)
    holidays: Sequence[str] = ()

    @classmethod
    def from_dict(cls, raw: Mapping[str, object]) -> CalendarSpec:
        """Build from the YAML mapping `{timezone, hours, holidays}`."""
        hours = raw.get("hours") or {}
        holidays = raw.get("holidays") or []
        if not isinstance(hours, Mapping) or not isinstance(holidays, list):
            raise ValueError(f"bad calendar: {raw!r}")
        return cls(
            timezone=str(raw["timezone"]),
            hours={str(day): list(ranges) for day, ranges in hours.items()},
            holidays=[str(day) for day in holidays],
        )


def _parse_clock_time(text: str) -> timedelta:
    hours_text, minutes_text = text.split(":")
    hours, minutes = int(hours_text), int(minutes_text)
    if not (0 <= minutes < 60 and (0 <= hours < 24 or (hours == 24 and minutes == 0))):
        raise ValueError(f"bad time of day: {text!r}")
    return timedelta(hours=hours, minutes=minutes)


def parse_range(text: str) -> tuple[timedelta, timedelta]:
    """`"09:00-13:00"` -> (9 h, 13 h) since local midnight; `24:00` may end a range."""
    open_text, close_text = text.strip().split("-")
    opens, closes = _parse_clock_time(open_text), _parse_clock_time(close_text)
    if closes <= opens:
        raise ValueError(f"range must close after it opens, same day: {text!r}")
    return opens, closes


def _merge(ranges: list[tuple[timedelta, timedelta]]) -> list[tuple[timedelta, timedelta]]:
    """Union of overlapping ranges, so an instant is never counted twice."""
    merged: list[tuple[timedelta, timedelta]] = []
    for opens, closes in sorted(ranges):
        if merged and opens <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], closes))
        else:
            merged.append((opens, closes))
    return merged


@dataclass(frozen=True)
class Calendar:
    """A parsed CalendarSpec."""

    zone: ZoneInfo
    open_ranges: tuple[tuple[tuple[timedelta, timedelta], ...], ...]  # by weekday, Monday 0
    holidays: frozenset[date]

    @classmethod
    def from_spec(cls, spec: CalendarSpec) -> Calendar:
        unknown = set(spec.hours) - set(DAY_NAMES)
        if unknown:
            raise ValueError(f"unknown day names: {sorted(unknown)}")
        by_day = tuple(
            tuple(_merge([parse_range(text) for text in spec.hours.get(name, ())]))
            for name in DAY_NAMES
        )
        return cls(
            zone=ZoneInfo(spec.timezone),
            open_ranges=by_day,
            holidays=frozenset(date.fromisoformat(day) for day in spec.holidays),
        )


def _offset(instant: datetime, zone: ZoneInfo) -> timedelta:
    offset = instant.astimezone(zone).utcoffset()
    assert offset is not None
    return offset


def _next_offset_change(start: datetime, end: datetime, zone: ZoneInfo) -> datetime:
    """The first instant in (start, end) whose offset differs from start's, else end."""
    offset = _offset(start, zone)
    low = start
    while low < end:
        high = min(end, low + _PROBE_STEP)
        if _offset(high, zone) != offset:
            # offset(low) == offset != offset(high): bisect to the microsecond.
            while high - low > _TICK:
                middle = low + (high - low) // 2
                if _offset(middle, zone) == offset:
                    low = middle
                else:
                    high = middle
            return min(high, end)
        low = high
    return end


def constant_offset_pieces(
    start: datetime, end: datetime, zone: ZoneInfo
) -> Iterator[tuple[datetime, datetime, timedelta]]:
    """Cut [start, end) into pieces (piece_start, piece_end, utc_offset)."""
    cursor = start
    while cursor < end:
        piece_end = _next_offset_change(cursor, end, zone)
        yield cursor, piece_end, _offset(cursor, zone)
        cursor = piece_end


def open_time(start: datetime, end: datetime, calendar: Calendar) -> timedelta:
    """Total open time of `calendar` inside [start, end) (aware instants)."""
    total = timedelta(0)
    for piece_start, piece_end, offset in constant_offset_pieces(start, end, calendar.zone):
        # Naive on purpose: these are local wall-clock times of this piece.
        wall_start = (piece_start.astimezone(UTC) + offset).replace(tzinfo=None)
        wall_end = (piece_end.astimezone(UTC) + offset).replace(tzinfo=None)
        day = wall_start.date()
        while day <= wall_end.date():
            if day not in calendar.holidays:
                midnight = datetime.combine(day, time(0))
                for opens, closes in calendar.open_ranges[day.weekday()]:
                    low = max(wall_start, midnight + opens)
                    high = min(wall_end, midnight + closes)
                    if high > low:
                        total += high - low
            day += timedelta(days=1)
    return total


def elapsed_seconds(start: datetime, end: datetime, calendar: Calendar | None) -> float:
    """Seconds from start to end on the business clock (calendar None: open 24x7)."""
    if end < start:
        raise ValueError("end before start")
    if calendar is None:
        return (end - start).total_seconds()
    return open_time(start, end, calendar).total_seconds()
