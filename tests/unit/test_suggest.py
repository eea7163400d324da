"""`cckpi targets suggest`: a step from the recent median towards the best, never the ideal."""

from __future__ import annotations

import statistics

import yaml
from hypothesis import given
from hypothesis import strategies as st

from streams.config import parse_config
from streams.targets.suggest import as_yaml, suggest


def record(
    kpi: str,
    start: str,
    value: float,
    scope: dict[str, str] | None = None,
    final: bool = True,
    period: str = "week",
) -> dict[str, object]:
    return {
        "kpi": kpi,
        "period": period,
        "window_start": start,
        "scope": scope or {},
        "clock": None,
        "value": value,
        "final": final,
    }


def test_higher_is_better_steps_up_from_the_median() -> None:
    values = [0.70, 0.80, 0.75, 0.90]
    records = [
        record("service_level_ratio", f"2026-10-{5 + 7 * i:02d}", v) for i, v in enumerate(values)
    ]
    (only,) = suggest(records, "week", 0.25)
    assert only.op == ">="
    assert only.median == statistics.median(values)
    assert only.best == 0.90
    assert only.value == round(0.775 + 0.25 * (0.90 - 0.775), 4)


def test_lower_is_better_and_only_final_records_of_the_period() -> None:
    records = [
        record("abandon_ratio", "2026-10-05", 0.06),
        record("abandon_ratio", "2026-10-12", 0.04),
        record("abandon_ratio", "2026-10-19", 0.01, final=False),
        record("abandon_ratio", "2026-10-19", 0.02, period="day"),
    ]
    (only,) = suggest(records, "week", 0.5)
    assert only.op == "<=" and only.best == 0.04 and only.windows == 2
    assert only.value == round(0.05 - 0.5 * 0.01, 4)


def test_suggestions_are_a_valid_targets_file() -> None:
    records = [
        record("tickets_solved", "2026-10-05", 100, {"team": "support", "agent": "ana"}),
        record("nps_score", "2026-10-05", 40.0),
    ]
    text = as_yaml(suggest(records, "week", 0.25))
    config = parse_config(text)
    assert {t.kpi for t in config.targets} == {"tickets_solved", "nps_score"}
    assert "median" in yaml.safe_load(text)["targets"][0]["description"]


@given(
    st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=12),
    st.floats(min_value=0, max_value=1),
)
def test_a_suggestion_lies_between_the_median_and_the_best(
    values: list[float], step: float
) -> None:
    records = [
        record("csat_ratio", f"2026-{1 + i // 4:02d}-{1 + i % 4 * 7:02d}", v)
        for i, v in enumerate(values)
    ]
    (only,) = suggest(records, "week", step)
    recent = values[-8:]
    low, high = statistics.median(recent), max(recent)
    assert round(low, 4) - 1e-4 <= only.value <= round(high, 4) + 1e-4


SUPPORT = parse_config(
    """
calendars:
  support:
    timezone: UTC
    hours: {mon: ["09:00-17:00"], tue: ["09:00-17:00"], wed: ["09:00-17:00"],
            thu: ["09:00-17:00"], fri: ["09:00-17:00"]}
    holidays: ["2026-12-25"]
"""
)


def month(start: str, end: str, value: float) -> dict[str, object]:
    out = record("tickets_solved", start, value, {"team": "support", "agent": "ana"}, True, "month")
    out["window_end"] = end
    return out


def test_volume_goals_are_proposed_per_business_hour() -> None:
    calendars = {team: spec.calendar() for team, spec in SUPPORT.calendars.items()}
    # November 2026: 21 working days; December: 22 (the 25th is a holiday). Ana keeps
    # exactly 10 tickets a working day: the short month is no worse than the long one.
    records = [
        month("2026-11-01T00:00:00+00:00", "2026-12-01T00:00:00+00:00", 210),
        month("2026-12-01T00:00:00+00:00", "2027-01-01T00:00:00+00:00", 220),
    ]
    (paced,) = suggest(records, "month", 1.0, calendars)
    assert paced.per_hour == 1.25  # 10 a day over 8 open hours, both months: best = median
    assert paced.value == 215  # 1.25 x the median month's 172 open hours
    (plain,) = suggest(records, "month", 1.0)  # without calendars: per calendar hour
    assert plain.value == 216  # December's 31 days made it look a better month
    assert (plain.median, plain.best) == (215, 220)
    entry = yaml.safe_load(as_yaml([paced]))["targets"][0]
    assert entry["pace_tolerance"] == 0.1
    assert "1.25 per open hour" in entry["description"]
    parse_config(as_yaml([paced]))
