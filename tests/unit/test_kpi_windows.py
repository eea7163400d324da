"""Tumbling hour/day/ISO-week/month windows in a reporting time zone, DST included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.kpi.windows import DAY, HOUR, MONTH, PERIODS, WEEK, WindowClock

H = 3600


def at(zone: str, *parts: int, fold: int = 0) -> int:
    """Epoch seconds of a local wall-clock time (y, m, d[, hh[, mm]])."""
    return int(datetime(*parts, tzinfo=ZoneInfo(zone), fold=fold).timestamp())  # type: ignore[misc]


def window(clock: WindowClock, period: int, ts: int) -> tuple[str, str]:
    start = clock.starts(ts)[period]
    return clock.iso(start), clock.iso(clock.end(period, start))


def hours_in(clock: WindowClock, start: int, end: int) -> list[int]:
    """The hour windows tiling [start, end), walked by ``end``."""
    out = []
    while start < end:
        out.append(start)
        start = clock.end(HOUR, start)
    assert start == end
    return out


def test_periods() -> None:
    assert PERIODS == ("hour", "day", "week", "month")
    assert (HOUR, DAY, WEEK, MONTH) == (0, 1, 2, 3)


def test_utc_windows() -> None:
    clock = WindowClock("UTC")
    ts = at("UTC", 2026, 11, 4, 13, 37) + 12  # a Wednesday
    assert window(clock, HOUR, ts) == ("2026-11-04T13:00:00+00:00", "2026-11-04T14:00:00+00:00")
    assert window(clock, DAY, ts) == ("2026-11-04T00:00:00+00:00", "2026-11-05T00:00:00+00:00")
    assert window(clock, WEEK, ts) == ("2026-11-02T00:00:00+00:00", "2026-11-09T00:00:00+00:00")
    assert window(clock, MONTH, ts) == ("2026-11-01T00:00:00+00:00", "2026-12-01T00:00:00+00:00")


def test_boundaries_belong_to_the_window_they_start() -> None:
    clock = WindowClock("UTC")
    midnight = at("UTC", 2026, 12, 1)
    assert clock.starts(midnight) == (midnight, midnight, at("UTC", 2026, 11, 30), midnight)
    assert clock.starts(midnight - 1)[MONTH] == at("UTC", 2026, 11, 1)
    assert clock.starts(midnight - 0.001)[HOUR] == midnight - H


def test_fractional_instants() -> None:
    clock = WindowClock("UTC")
    ts = at("UTC", 2026, 11, 4, 9, 59) + 59.999
    assert clock.starts(ts)[HOUR] == at("UTC", 2026, 11, 4, 9)


@pytest.mark.parametrize(
    ("day", "hours", "start", "end"),
    [
        ((2026, 3, 29), 23, "2026-03-29T00:00:00+02:00", "2026-03-30T00:00:00+03:00"),
        ((2026, 10, 25), 25, "2026-10-25T00:00:00+03:00", "2026-10-26T00:00:00+02:00"),
        ((2026, 7, 1), 24, "2026-07-01T00:00:00+03:00", "2026-07-02T00:00:00+03:00"),
    ],
)
def test_bucharest_dst_days(day: tuple[int, int, int], hours: int, start: str, end: str) -> None:
    clock = WindowClock("Europe/Bucharest")
    noon = at("Europe/Bucharest", *day, 12)
    first = clock.starts(noon)[DAY]
    last = clock.end(DAY, first)
    assert (clock.iso(first), clock.iso(last)) == (start, end)
    assert last - first == hours * H
    assert len(hours_in(clock, first, last)) == hours


def test_bucharest_repeated_hour_is_two_windows() -> None:
    clock = WindowClock("Europe/Bucharest")
    first = at("Europe/Bucharest", 2026, 10, 25, 3, 30, fold=0)
    second = at("Europe/Bucharest", 2026, 10, 25, 3, 30, fold=1)
    assert second - first == H
    assert window(clock, HOUR, first) == ("2026-10-25T03:00:00+03:00", "2026-10-25T03:00:00+02:00")
    assert window(clock, HOUR, second) == ("2026-10-25T03:00:00+02:00", "2026-10-25T04:00:00+02:00")
    assert clock.starts(first)[DAY] == clock.starts(second)[DAY]


def test_bucharest_skipped_hour() -> None:
    clock = WindowClock("Europe/Bucharest")
    before = at("Europe/Bucharest", 2026, 3, 29, 2, 59)
    assert window(clock, HOUR, before) == ("2026-03-29T02:00:00+02:00", "2026-03-29T04:00:00+03:00")
    assert clock.starts(before + 60)[HOUR] == clock.end(HOUR, clock.starts(before)[HOUR])


def test_bucharest_dst_week_and_month() -> None:
    clock = WindowClock("Europe/Bucharest")
    ts = at("Europe/Bucharest", 2026, 3, 25, 10)
    week = clock.starts(ts)[WEEK]
    assert clock.iso(week) == "2026-03-23T00:00:00+02:00"
    assert clock.end(WEEK, week) - week == (7 * 24 - 1) * H
    month = clock.starts(ts)[MONTH]
    assert clock.end(MONTH, month) - month == (31 * 24 - 1) * H
    october = clock.starts(at("Europe/Bucharest", 2026, 10, 31))[MONTH]
    assert clock.end(MONTH, october) - october == (31 * 24 + 1) * H


@pytest.mark.parametrize(
    ("day", "monday", "next_monday"),
    [
        ((2026, 11, 2), "2026-11-02", "2026-11-09"),
        ((2026, 11, 8), "2026-11-02", "2026-11-09"),
        ((2026, 12, 31), "2026-12-28", "2027-01-04"),
        ((2027, 1, 3), "2026-12-28", "2027-01-04"),
        ((2027, 1, 4), "2027-01-04", "2027-01-11"),
        ((2028, 2, 29), "2028-02-28", "2028-03-06"),
    ],
)
def test_iso_week_starts_monday(day: tuple[int, int, int], monday: str, next_monday: str) -> None:
    clock = WindowClock("Europe/Bucharest")
    start, end = window(clock, WEEK, at("Europe/Bucharest", *day, 23, 59))
    assert start.startswith(monday + "T00:00:00")
    assert end.startswith(next_monday + "T00:00:00")
    assert datetime.fromisoformat(start).isoweekday() == 1


@pytest.mark.parametrize(
    ("zone", "day", "start", "end", "days"),
    [
        ("UTC", (2026, 2, 14), "2026-02-01T00:00:00+00:00", "2026-03-01T00:00:00+00:00", 28),
        ("UTC", (2028, 2, 29), "2028-02-01T00:00:00+00:00", "2028-03-01T00:00:00+00:00", 29),
        ("UTC", (2026, 12, 31), "2026-12-01T00:00:00+00:00", "2027-01-01T00:00:00+00:00", 31),
        ("UTC", (2027, 1, 1), "2027-01-01T00:00:00+00:00", "2027-02-01T00:00:00+00:00", 31),
        ("UTC", (2026, 4, 30), "2026-04-01T00:00:00+00:00", "2026-05-01T00:00:00+00:00", 30),
        (
            "Europe/Bucharest",
            (2026, 12, 31),
            "2026-12-01T00:00:00+02:00",
            "2027-01-01T00:00:00+02:00",
            31,
        ),
    ],
)
def test_month_ends(zone: str, day: tuple[int, int, int], start: str, end: str, days: int) -> None:
    clock = WindowClock(zone)
    ts = at(zone, *day, 12)
    assert window(clock, MONTH, ts) == (start, end)
    first = clock.starts(ts)[MONTH]
    assert clock.end(MONTH, first) - first == days * 24 * H


def test_kathmandu_quarter_offset() -> None:
    clock = WindowClock("Asia/Kathmandu")
    ts = at("UTC", 2026, 11, 2, 10, 20)  # 16:05 in Kathmandu (+05:45)
    assert window(clock, HOUR, ts) == ("2026-11-02T16:00:00+05:45", "2026-11-02T17:00:00+05:45")
    assert clock.starts(ts)[HOUR] == at("UTC", 2026, 11, 2, 10, 15)
    earlier = ts - 6 * 60 - 1  # 15:58:59 local
    assert clock.starts(earlier)[HOUR] == at("UTC", 2026, 11, 2, 9, 15)
    assert window(clock, DAY, ts) == ("2026-11-02T00:00:00+05:45", "2026-11-03T00:00:00+05:45")
    assert clock.starts(ts)[DAY] == at("UTC", 2026, 11, 1, 18, 15)


@pytest.mark.parametrize(
    ("zone", "ts", "text"),
    [
        ("UTC", at("UTC", 2026, 11, 2), "2026-11-02T00:00:00+00:00"),
        ("Europe/Bucharest", at("UTC", 2026, 7, 1), "2026-07-01T03:00:00+03:00"),
        ("Europe/Bucharest", at("UTC", 2026, 1, 1), "2026-01-01T02:00:00+02:00"),
        ("Asia/Kathmandu", at("UTC", 2026, 1, 1), "2026-01-01T05:45:00+05:45"),
        ("America/St_Johns", at("UTC", 2026, 1, 1), "2025-12-31T20:30:00-03:30"),
    ],
)
def test_iso_uses_the_offset_at_that_instant(zone: str, ts: int, text: str) -> None:
    assert WindowClock(zone).iso(ts) == text
    assert datetime.fromisoformat(text).timestamp() == ts


def test_previous() -> None:
    clock = WindowClock("Europe/Bucharest")
    after_fallback = at("Europe/Bucharest", 2026, 10, 26)
    assert clock.previous(DAY, after_fallback) == at("Europe/Bucharest", 2026, 10, 25)
    assert after_fallback - clock.previous(DAY, after_fallback) == 25 * H
    assert clock.previous(HOUR, after_fallback) == after_fallback - H
    january = at("Europe/Bucharest", 2027, 1, 1)
    assert clock.iso(clock.previous(MONTH, january)) == "2026-12-01T00:00:00+02:00"
    assert clock.iso(clock.previous(WEEK, january - 5 * 86400)) == "2026-12-21T00:00:00+02:00"


ZONES = [
    "UTC",
    "Europe/Bucharest",
    "Asia/Kathmandu",
    "America/New_York",
    "Australia/Sydney",
    "Asia/Kolkata",
    "America/St_Johns",
]
INSTANTS = st.integers(
    int(datetime(2012, 1, 1, tzinfo=UTC).timestamp()),
    int(datetime(2037, 12, 31, tzinfo=UTC).timestamp()),
)


@settings(max_examples=200, deadline=None)
@given(zone=st.sampled_from(ZONES), ts=INSTANTS, fraction=st.floats(0, 0.999))
def test_every_instant_lies_in_its_nested_windows(zone: str, ts: int, fraction: float) -> None:
    clock = WindowClock(zone)
    instant = ts + fraction
    starts = clock.starts(instant)
    ends = [clock.end(period, start) for period, start in enumerate(starts)]
    for period, (start, end) in enumerate(zip(starts, ends, strict=True)):
        assert start <= instant < end, PERIODS[period]
        assert clock.starts(start)[period] == start
        assert clock.starts(end)[period] == end
        assert clock.end(period, clock.previous(period, start)) == start
    hour, day, week, month = zip(starts, ends, strict=True)
    assert day[0] <= hour[0] and hour[1] <= day[1]
    assert month[0] <= day[0] and day[1] <= month[1]
    assert week[0] <= day[0] and day[1] <= week[1]
    local_day = datetime.fromtimestamp(instant, ZoneInfo(zone)).date()
    assert datetime.fromtimestamp(day[0], ZoneInfo(zone)).date() == local_day
    assert (datetime.fromtimestamp(day[1], ZoneInfo(zone)).date() - local_day) == timedelta(1)


def test_day_whose_midnight_is_skipped() -> None:
    clock = WindowClock("America/Santiago")
    late_evening = at("America/Santiago", 2024, 9, 7, 23, 30)
    start = clock.starts(late_evening)[DAY]
    assert start <= late_evening < clock.end(DAY, start)
    sunday = clock.starts(at("America/Santiago", 2024, 9, 8, 12))[DAY]
    assert clock.iso(sunday) == "2024-09-08T01:00:00-03:00"
    assert clock.end(DAY, sunday) - sunday == 23 * H


def test_half_hour_dst_shift() -> None:
    """Lord Howe turns clocks back 30 minutes (02:00+11:00 -> 01:30+10:30): the local
    hour 01:00 lasts 90 minutes; forward in October (02:00+10:30 -> 02:30+11:00), the
    local hour 02:00 lasts 30. Every instant lies in exactly one hour window."""
    clock = WindowClock("Australia/Lord_Howe")
    repeated = at("Australia/Lord_Howe", 2026, 4, 5, 1, 45, fold=1)
    start = clock.starts(repeated)[HOUR]
    assert start <= repeated < clock.end(HOUR, start)
    assert clock.end(HOUR, start) - start == 5400
    spring = clock.starts(at("Australia/Lord_Howe", 2026, 10, 4, 2, 40))[HOUR]
    assert clock.end(HOUR, spring) - spring == 1800
    for day_start in (at("Australia/Lord_Howe", 2026, 4, 5, 0, 0), spring - 3 * 3600):
        ts = day_start
        while ts < day_start + 6 * 3600:
            hour = clock.starts(ts)[HOUR]
            assert hour <= ts < clock.end(HOUR, hour), (ts, hour, clock.end(HOUR, hour))
            ts += 300
