"""The oracle's business clock and windows, against hand-computed values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.oracle.clock import Calendar, CalendarSpec, elapsed_seconds, parse_range
from tests.oracle.windows import window_of

BUCHAREST = ZoneInfo("Europe/Bucharest")  # EET +02:00, EEST +03:00 (EU rules)
WEEKDAYS = {day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def calendar(hours: dict[str, list[str]], holidays: tuple[str, ...] = ()) -> Calendar:
    return Calendar.from_spec(CalendarSpec("Europe/Bucharest", hours, holidays))


def test_weekend_counts_only_friday_and_monday_hours() -> None:
    # Friday 16:00 to Monday 10:00, Bucharest time (+02:00 in November).
    start, end = utc("2026-11-06T16:00:00+02:00"), utc("2026-11-09T10:00:00+02:00")
    assert elapsed_seconds(start, end, None) == 66 * 3600
    assert elapsed_seconds(start, end, calendar(WEEKDAYS)) == 2 * 3600
    assert elapsed_seconds(start, end, calendar(WEEKDAYS, ("2026-11-09",))) == 3600


def test_partial_range_and_overlapping_ranges() -> None:
    cal = calendar({"mon": ["09:00-13:00", "12:00-14:00"]})
    monday = "2026-11-02T{}:00+02:00"
    assert elapsed_seconds(utc(monday.format("10:15")), utc(monday.format("10:45")), cal) == 1800
    assert (
        elapsed_seconds(utc(monday.format("00:00")), utc(monday.format("23:59")), cal) == 5 * 3600
    )
    assert elapsed_seconds(utc(monday.format("13:30")), utc(monday.format("13:30")), cal) == 0


def test_range_starting_in_the_spring_gap() -> None:
    # 2026-03-29: 03:00 EET jumps to 04:00 EEST. Open wall time 03:30-05:00 is
    # reached only from 04:00 on: one real hour (01:00Z to 02:00Z).
    cal = calendar({"sun": ["03:30-05:00"]})
    day_start, day_end = utc("2026-03-29T00:00:00+02:00"), utc("2026-03-30T00:00:00+03:00")
    assert elapsed_seconds(day_start, day_end, cal) == 3600
    assert elapsed_seconds(day_start, day_end, calendar({"sun": ["00:00-24:00"]})) == 23 * 3600


def test_repeated_autumn_hour_counts_twice() -> None:
    # 2026-10-25: 04:00 EEST falls back to 03:00 EET; 03:30-04:00 happens twice.
    cal = calendar({"sun": ["03:30-04:00"]})
    day_start, day_end = utc("2026-10-25T00:00:00+03:00"), utc("2026-10-26T00:00:00+02:00")
    assert elapsed_seconds(day_start, day_end, cal) == 3600
    assert elapsed_seconds(day_start, day_end, calendar({"sun": ["00:00-24:00"]})) == 25 * 3600


def test_long_span_matches_a_day_count() -> None:
    # Four full weeks from a Monday midnight: 4 x 5 x 8 h, DST-free November.
    start = utc("2026-11-02T00:00:00+02:00")
    assert elapsed_seconds(start, start + timedelta(weeks=4), calendar(WEEKDAYS)) == 160 * 3600


def test_bad_ranges_are_rejected() -> None:
    assert parse_range("09:00-24:00") == (timedelta(hours=9), timedelta(hours=24))
    for text in ("18:00-09:00", "09:00-09:00", "25:00-26:00", "09:60-10:00"):
        with pytest.raises(ValueError):
            parse_range(text)


def test_windows_across_autumn_change() -> None:
    first = window_of(utc("2026-10-25T00:30:00Z"), "hour", BUCHAREST)  # 03:30 EEST
    second = window_of(utc("2026-10-25T01:30:00Z"), "hour", BUCHAREST)  # 03:30 EET
    assert first.start_label(BUCHAREST) == "2026-10-25T03:00:00+03:00"
    assert second.start_label(BUCHAREST) == "2026-10-25T03:00:00+02:00"
    assert first.end == second.start
    day = window_of(utc("2026-10-25T12:00:00Z"), "day", BUCHAREST)
    assert day.start_label(BUCHAREST) == "2026-10-25T00:00:00+03:00"
    assert day.end_label(BUCHAREST) == "2026-10-26T00:00:00+02:00"
    assert day.end - day.start == timedelta(hours=25)


def test_week_and_month_windows() -> None:
    sunday = utc("2026-11-08T23:30:00+02:00")
    week = window_of(sunday, "week", BUCHAREST)
    assert week.start_label(BUCHAREST) == "2026-11-02T00:00:00+02:00"
    assert week.end_label(BUCHAREST) == "2026-11-09T00:00:00+02:00"
    month = window_of(utc("2026-10-31T23:30:00+02:00"), "month", BUCHAREST)
    assert month.start_label(BUCHAREST) == "2026-10-01T00:00:00+03:00"
    assert month.end_label(BUCHAREST) == "2026-11-01T00:00:00+02:00"
    december = window_of(utc("2026-12-31T23:00:00Z"), "month", ZoneInfo("UTC"))
    assert december.end_label(ZoneInfo("UTC")) == "2027-01-01T00:00:00+00:00"
