"""Tumbling windows aligned to the reporting time zone.

Every instant handled here is an aware datetime in UTC: Python compares and
subtracts two datetimes that share a tzinfo by wall time, ignoring `fold`, which
is wrong across a daylight-saving change, so local datetimes are only made to
read a wall clock or to print a label.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

PERIODS = ("hour", "day", "week", "month")


@dataclass(frozen=True, order=True)
class Window:
    period: str
    start: datetime  # UTC
    end: datetime  # UTC, exclusive

    def start_label(self, zone: ZoneInfo) -> str:
        return self.start.astimezone(zone).isoformat()

    def end_label(self, zone: ZoneInfo) -> str:
        return self.end.astimezone(zone).isoformat()


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The instant a local date begins.

    `fold=0` (the default): where midnight falls at the start of a spring-forward
    gap (e.g. America/Santiago), this is the transition instant, as it should be.
    """
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _first_of_next_month(day: date) -> date:
    if day.month == 12:
        return date(day.year + 1, 1, 1)
    return date(day.year, day.month + 1, 1)


def window_of(instant: datetime, period: str, zone: ZoneInfo) -> Window:
    """The window of `period` holding `instant`."""
    local = instant.astimezone(zone)
    if period == "hour":
        # replace() keeps `fold`, so the repeated autumn hour maps to the right instant.
        start = local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
        return Window(period, start, start + timedelta(hours=1))
    day = local.date()
    if period == "day":
        first, after = day, day + timedelta(days=1)
    elif period == "week":
        first = day - timedelta(days=day.weekday())
        after = first + timedelta(days=7)
    elif period == "month":
        first = day.replace(day=1)
        after = _first_of_next_month(first)
    else:
        raise ValueError(f"unknown period {period!r}")
    return Window(period, local_midnight(first, zone), local_midnight(after, zone))


def windows_of(instant: datetime, zone: ZoneInfo) -> list[Window]:
    return [window_of(instant, period, zone) for period in PERIODS]
