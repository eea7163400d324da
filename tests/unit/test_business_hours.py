"""Business-hours clock: hand-checked cases, DST days, and a brute-force oracle."""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.kpi.business_hours import BusinessCalendar

HOUR = 3600.0
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
OFFICE = {day: ["09:00-17:00"] for day in WEEKDAYS[:5]}


def at(zone: str, y: int, m: int, d: int, hh: int = 0, mm: int = 0, *, fold: int = 0) -> float:
    """POSIX timestamp of a local wall-clock time."""
    return dt.datetime(y, m, d, hh, mm, tzinfo=ZoneInfo(zone), fold=fold).timestamp()


def office(zone: str = "Europe/Bucharest", holidays: tuple[str, ...] = ()) -> BusinessCalendar:
    return BusinessCalendar.from_spec(zone, OFFICE, holidays)


# 2024-03-04 is a Monday.
@pytest.mark.parametrize(
    ("start", "end", "expected_hours"),
    [
        pytest.param((2024, 3, 4, 10), (2024, 3, 4, 12), 2, id="same-day"),
        pytest.param((2024, 3, 4, 7), (2024, 3, 4, 19), 8, id="spans-whole-day"),
        pytest.param((2024, 3, 4, 18), (2024, 3, 4, 23), 0, id="after-close"),
        pytest.param((2024, 3, 4, 16), (2024, 3, 5, 10), 2, id="overnight"),
        pytest.param((2024, 3, 8, 16), (2024, 3, 11, 10), 2, id="over-weekend"),
        pytest.param((2024, 3, 9, 8), (2024, 3, 10, 20), 0, id="inside-weekend"),
        pytest.param((2024, 3, 4, 9), (2024, 3, 18, 9), 80, id="two-weeks"),
    ],
)
def test_office_hours(start: tuple[int, ...], end: tuple[int, ...], expected_hours: int) -> None:
    cal = office()
    tz = "Europe/Bucharest"
    assert cal.business_seconds(at(tz, *start), at(tz, *end)) == expected_hours * HOUR


def test_holiday_is_closed_all_day() -> None:
    tz = "Europe/Bucharest"
    cal = office(holidays=("2024-03-05",))
    assert cal.business_seconds(at(tz, 2024, 3, 4, 16), at(tz, 2024, 3, 6, 10)) == 2 * HOUR
    assert not cal.is_open(at(tz, 2024, 3, 5, 12))
    as_date = BusinessCalendar.from_spec(tz, OFFICE, [dt.date(2024, 3, 5)])
    assert as_date.business_seconds(at(tz, 2024, 3, 5), at(tz, 2024, 3, 6)) == 0


def test_holiday_is_a_local_date() -> None:
    """The holiday follows the zone's midnight, not UTC's."""
    tz = "Pacific/Auckland"
    cal = BusinessCalendar.from_spec(tz, {d: ["00:00-24:00"] for d in WEEKDAYS}, ["2024-07-01"])
    assert cal.business_seconds(at(tz, 2024, 7, 1), at(tz, 2024, 7, 2)) == 0
    assert cal.business_seconds(at(tz, 2024, 6, 30, 23), at(tz, 2024, 7, 2, 1)) == 2 * HOUR


def test_lunch_break() -> None:
    tz = "UTC"
    cal = BusinessCalendar.from_spec(tz, {"mon": ["14:00-18:00", "09:00-13:00"]})
    assert cal.business_seconds(at(tz, 2024, 3, 4, 12, 30), at(tz, 2024, 3, 4, 14, 30)) == HOUR
    assert cal.business_seconds(at(tz, 2024, 3, 4), at(tz, 2024, 3, 5)) == 8 * HOUR
    assert not cal.is_open(at(tz, 2024, 3, 4, 13, 30))


def test_ranges_meeting_at_midnight_are_continuous() -> None:
    tz = "America/New_York"
    cal = BusinessCalendar.from_spec(tz, {"mon": ["22:00-24:00"], "tue": ["00:00-02:00"]})
    assert cal.business_seconds(at(tz, 2024, 3, 4, 23), at(tz, 2024, 3, 5, 1)) == 2 * HOUR


def test_touching_ranges_merge() -> None:
    cal = BusinessCalendar.from_spec("UTC", {"mon": ["09:00-12:00", "12:00-13:00"]})
    assert cal.business_seconds(at("UTC", 2024, 3, 4), at("UTC", 2024, 3, 5)) == 4 * HOUR


def test_boundaries_start_inclusive_end_exclusive() -> None:
    tz = "Europe/Bucharest"
    cal = office()
    assert cal.is_open(at(tz, 2024, 3, 4, 9))
    assert not cal.is_open(at(tz, 2024, 3, 4, 9) - 0.001)
    assert cal.is_open(at(tz, 2024, 3, 4, 17) - 0.001)
    assert not cal.is_open(at(tz, 2024, 3, 4, 17))


def test_fractional_seconds() -> None:
    nine = at("Europe/Bucharest", 2024, 3, 4, 9)
    assert office().business_seconds(nine - 0.5, nine + 1.25) == pytest.approx(1.25)


def test_zero_and_reversed() -> None:
    cal = office()
    a, b = at("Europe/Bucharest", 2024, 3, 4, 16), at("Europe/Bucharest", 2024, 3, 5, 10)
    assert cal.business_seconds(a, a) == 0
    assert cal.business_seconds(b, a) == -2 * HOUR


def test_always_open_is_elapsed_time() -> None:
    cal = BusinessCalendar.always_open()
    assert cal.business_seconds(1_700_000_000.25, 1_705_000_000.5) == 5_000_000.25
    assert cal.business_seconds(10.0, 4.0) == -6.0
    assert cal.is_open(0.0)


def test_spec_24x7_matches_always_open_across_dst() -> None:
    tz = "America/New_York"
    cal = BusinessCalendar.from_spec(tz, {d: ["00:00-24:00"] for d in WEEKDAYS})
    a, b = at(tz, 2024, 3, 1, 7, 13), at(tz, 2024, 11, 20, 5)
    assert cal.business_seconds(a, b) == b - a
    assert cal.business_seconds(at(tz, 2024, 3, 10), at(tz, 2024, 3, 11)) == 23 * HOUR


@pytest.mark.parametrize(
    ("zone", "day", "wall_range", "expected_hours"),
    [
        # Bucharest: 2024-03-31 03:00 -> 04:00, 2024-10-27 04:00 -> 03:00 (both Sundays).
        pytest.param("Europe/Bucharest", (2024, 3, 31), "02:00-05:00", 2, id="bucharest-spring"),
        pytest.param("Europe/Bucharest", (2024, 10, 27), "02:00-05:00", 4, id="bucharest-fall"),
        pytest.param("Europe/Bucharest", (2024, 3, 31), "03:00-04:00", 0, id="bucharest-gap"),
        pytest.param("Europe/Bucharest", (2024, 10, 27), "03:00-04:00", 2, id="bucharest-twice"),
        # New York: 2024-03-10 02:00 -> 03:00, 2024-11-03 02:00 -> 01:00 (both Sundays).
        pytest.param("America/New_York", (2024, 3, 10), "01:00-04:00", 2, id="ny-spring"),
        pytest.param("America/New_York", (2024, 11, 3), "01:00-04:00", 4, id="ny-fall"),
        pytest.param("America/New_York", (2024, 3, 10), "02:00-03:00", 0, id="ny-gap"),
        pytest.param("America/New_York", (2024, 11, 3), "01:30-01:45", 0.5, id="ny-twice"),
        pytest.param("America/New_York", (2024, 11, 3), "00:00-24:00", 25, id="ny-25h-day"),
    ],
)
def test_dst_days_count_real_seconds(
    zone: str, day: tuple[int, int, int], wall_range: str, expected_hours: float
) -> None:
    cal = BusinessCalendar.from_spec(zone, {"sun": [wall_range]})
    midnight, next_midnight = at(zone, *day), at(zone, *day) + 30 * HOUR
    assert cal.business_seconds(midnight, next_midnight) == expected_hours * HOUR


def test_repeated_hour_is_open_in_both_folds() -> None:
    tz = "America/New_York"
    cal = BusinessCalendar.from_spec(tz, {"sun": ["01:00-02:00"]})
    first, second = at(tz, 2024, 11, 3, 1, 30), at(tz, 2024, 11, 3, 1, 30, fold=1)
    assert second - first == HOUR
    assert cal.is_open(first)
    assert cal.is_open(second)
    assert cal.business_seconds(first, second) == 1800 + 1800


def test_office_week_across_dst_weekend() -> None:
    tz = "Europe/Bucharest"
    cal = office()
    assert cal.business_seconds(at(tz, 2024, 3, 29, 16), at(tz, 2024, 4, 1, 10)) == 2 * HOUR
    assert cal.business_seconds(at(tz, 2024, 10, 25, 16), at(tz, 2024, 10, 28, 10)) == 2 * HOUR


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ({"mon": ["9:00-17:00"]}, r"mon: range '9:00-17:00' is not of the form"),
        ({"tue": ["09:00-17:60"]}, r"tue: range '09:00-17:60' has an invalid time"),
        ({"wed": ["24:00-24:00"]}, r"wed: range '24:00-24:00' has an invalid time"),
        ({"thu": ["09:00-24:30"]}, r"thu: range '09:00-24:30' has an invalid time"),
        ({"fri": ["17:00-09:00"]}, r"fri: range '17:00-09:00' must start before it ends"),
        ({"sat": ["10:00-10:00"]}, r"sat: range '10:00-10:00' must start before"),
        (
            {"sun": ["09:00-13:00", "12:00-18:00"]},
            r"sun: range '12:00-18:00' overlaps range '09:00-13:00'",
        ),
        ({"monday": ["09:00-17:00"]}, r"unknown weekday key\(s\) \['monday'\]"),
    ],
)
def test_invalid_hours_are_rejected(hours: dict[str, list[str]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BusinessCalendar.from_spec("UTC", hours)


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "", "../etc/passwd"])
def test_unknown_time_zone_is_rejected(zone: str) -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        BusinessCalendar.from_spec(zone, OFFICE)


def test_invalid_holiday_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"holiday '2024-02-30' is not an ISO date"):
        BusinessCalendar.from_spec("UTC", OFFICE, ["2024-02-30"])


def test_single_string_is_one_range() -> None:
    cal = BusinessCalendar.from_spec("UTC", {"mon": "09:00-17:00"})
    assert cal.business_seconds(at("UTC", 2024, 3, 4), at("UTC", 2024, 3, 5)) == 8 * HOUR


# --- Property tests against a minute-by-minute oracle ---------------------------------

ZONES = (
    "UTC",
    "Europe/Bucharest",
    "America/New_York",
    "Australia/Lord_Howe",  # 30-minute DST shift
    "America/Santiago",  # transitions at local midnight
    "Asia/Kathmandu",  # +05:45, no DST
    "Pacific/Chatham",  # +12:45 / +13:45
)
LO = int(dt.datetime(2000, 1, 1, tzinfo=dt.UTC).timestamp())
HI = int(dt.datetime(2038, 1, 1, tzinfo=dt.UTC).timestamp())
MAX_SPAN_MINUTES = 10 * 24 * 60

MinuteRanges = tuple[tuple[int, int], ...]


@functools.cache
def transitions(zone: str) -> tuple[int, ...]:
    """UTC-offset change instants in 2020-2027, so the oracle is fed DST edges often."""
    tz = ZoneInfo(zone)

    def offset(ts: int) -> dt.timedelta | None:
        return dt.datetime.fromtimestamp(ts, tz).utcoffset()

    found = []
    lo = int(dt.datetime(2020, 1, 1, tzinfo=dt.UTC).timestamp())
    for day in range(8 * 365):
        a, b = lo + day * 86400, lo + (day + 1) * 86400
        if offset(a) != offset(b):
            while b - a > 1:
                mid = (a + b) // 2
                a, b = (mid, b) if offset(mid) == offset(a) else (a, mid)
            found.append(b)
    return tuple(found) or (lo,)


@st.composite
def day_ranges(draw: st.DrawFn) -> MinuteRanges:
    points = draw(st.lists(st.integers(0, 1440), max_size=6, unique=True).map(sorted))
    return tuple((points[i], points[i + 1]) for i in range(0, len(points) - 1, 2))


def clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@st.composite
def calendars(draw: st.DrawFn) -> tuple[str, tuple[MinuteRanges, ...], frozenset[dt.date], int]:
    """A zone, weekly ranges in minutes, holidays, and an anchor minute-aligned instant."""
    zone = draw(st.sampled_from(ZONES))
    week = tuple(draw(day_ranges()) for _ in WEEKDAYS)
    if draw(st.booleans()):
        anchor = draw(st.sampled_from(transitions(zone))) // 60 * 60
        anchor += 60 * draw(st.integers(-3 * 1440, 3 * 1440))
    else:
        anchor = 60 * draw(st.integers(LO // 60, HI // 60))
    first = dt.datetime.fromtimestamp(anchor, ZoneInfo(zone)).date()
    offsets = st.lists(st.integers(-2, 12), max_size=3)
    holidays = frozenset(first + dt.timedelta(days=d) for d in draw(offsets))
    return zone, week, holidays, anchor


def build(
    zone: str, week: tuple[MinuteRanges, ...], holidays: frozenset[dt.date]
) -> BusinessCalendar:
    hours = {
        day: [f"{clock(a)}-{clock(b)}" for a, b in ranges]
        for day, ranges in zip(WEEKDAYS, week, strict=True)
        if ranges
    }
    return BusinessCalendar.from_spec(zone, hours, sorted(h.isoformat() for h in holidays))


def oracle_open(
    ts: int, zone: ZoneInfo, week: tuple[MinuteRanges, ...], holidays: frozenset[dt.date]
) -> bool:
    local = dt.datetime.fromtimestamp(ts, zone)
    minute = local.hour * 60 + local.minute
    return local.date() not in holidays and any(a <= minute < b for a, b in week[local.weekday()])


def oracle_seconds(
    start: int, end: int, zone: str, week: tuple[MinuteRanges, ...], holidays: frozenset[dt.date]
) -> float:
    """Every modern offset is whole minutes, so each UTC minute is wholly open or closed."""
    tz = ZoneInfo(zone)
    lo, hi, sign = (start, end, 1) if start <= end else (end, start, -1)
    return sign * 60.0 * sum(oracle_open(t, tz, week, holidays) for t in range(lo, hi, 60))


ORACLE = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@ORACLE
@given(calendars(), st.integers(-MAX_SPAN_MINUTES, MAX_SPAN_MINUTES))
def test_matches_minute_oracle(
    spec: tuple[str, tuple[MinuteRanges, ...], frozenset[dt.date], int], span: int
) -> None:
    zone, week, holidays, start = spec
    end = start + 60 * span
    cal = build(zone, week, holidays)
    assert cal.business_seconds(start, end) == oracle_seconds(start, end, zone, week, holidays)


@ORACLE
@given(calendars(), st.lists(st.integers(-3 * 1440, 3 * 1440), min_size=1, max_size=20))
def test_is_open_matches_oracle(
    spec: tuple[str, tuple[MinuteRanges, ...], frozenset[dt.date], int], shifts: list[int]
) -> None:
    zone, week, holidays, anchor = spec
    cal = build(zone, week, holidays)
    for shift in shifts:
        ts = anchor + 60 * shift
        assert cal.is_open(ts) == oracle_open(ts, ZoneInfo(zone), week, holidays)
        assert cal.is_open(ts + 30.5) == oracle_open(ts, ZoneInfo(zone), week, holidays)


@settings(max_examples=300)
@given(
    calendars(),
    st.floats(-MAX_SPAN_MINUTES * 60, MAX_SPAN_MINUTES * 60),
    st.floats(-MAX_SPAN_MINUTES * 60, MAX_SPAN_MINUTES * 60),
)
def test_additive_and_antisymmetric(
    spec: tuple[str, tuple[MinuteRanges, ...], frozenset[dt.date], int], db: float, dc: float
) -> None:
    zone, week, holidays, a = spec
    cal = build(zone, week, holidays)
    b, c = a + db, a + dc
    ab, bc, ac = cal.business_seconds(a, b), cal.business_seconds(b, c), cal.business_seconds(a, c)
    assert ab + bc == pytest.approx(ac, abs=1e-6)
    assert cal.business_seconds(b, a) == -ab
    assert abs(ab) <= abs(b - a) + 1e-6
