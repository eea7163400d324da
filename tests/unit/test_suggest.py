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
