"""``cckpi targets check``: the explanation from aggregate and breach records."""

from __future__ import annotations

from typing import Any

import pytest

from streams.config import parse_config
from streams.errors import CckpiError
from streams.targets.check import check, parse_scope

CONFIG = parse_config(
    """
calendars:
  support:
    timezone: UTC
    hours: {mon: ["09:00-17:00"], tue: ["09:00-17:00"], wed: ["09:00-17:00"],
            thu: ["09:00-17:00"], fri: ["09:00-17:00"]}
targets:
  - {id: tickets, kpi: tickets_solved, period: month, scope: {agent: "*"}, op: ">=", value: 1200}
  - {id: sl, kpi: service_level_ratio, period: day, scope: {queue: "*"}, op: ">=", value: 0.8}
"""
)
DECEMBER = ("2026-12-01T00:00:00+00:00", "2027-01-01T00:00:00+00:00")


def aggregate(
    kpi: str,
    period: str,
    window: tuple[str, str],
    scope: dict[str, str],
    value: float,
    denominator: float | None = None,
    final: bool = False,
) -> dict[str, Any]:
    return {
        "kpi": kpi,
        "period": period,
        "window_start": window[0],
        "window_end": window[1],
        "scope": scope,
        "clock": None,
        "value": value,
        "numerator": value if denominator is None else value * denominator,
        "denominator": denominator,
        "final": final,
        "updated_at": "2026-12-08T12:00:01+00:00",
    }


ANN = {"team": "support", "agent": "ann"}
BOB = {"team": "support", "agent": "bob"}
# Event time: the newest hour window is Tuesday 8 December 09:00, 5 business days + 0 h in.
HOUR = ("2026-12-08T09:00:00+00:00", "2026-12-08T10:00:00+00:00")
RECORDS = [
    aggregate("contacts_offered", "hour", HOUR, {}, 3),
    aggregate("tickets_solved", "month", DECEMBER, ANN, 200),
    aggregate("tickets_solved", "month", DECEMBER, BOB, 300),
    aggregate("tickets_solved", "month", DECEMBER, ANN, 220),  # a later update wins
    aggregate(
        "service_level_ratio",
        "day",
        ("2026-12-08T00:00:00+00:00", "2026-12-09T00:00:00+00:00"),
        {"team": "support", "queue": "billing"},
        0.5,
        denominator=12,
    ),
]


def test_a_volume_goal_is_explained_by_its_pace() -> None:
    lines = check(CONFIG, "tickets", parse_scope("agent=ann"), RECORDS, [])
    text = "\n".join(lines)
    # December 2026 has 23 working days; 5 have passed at Tuesday 09:00 (1, 2, 3, 4, 7).
    expected = 1200 * 5 / 23
    assert lines[0] == "target tickets: tickets_solved >= 1200 per month (every agent)"
    assert "scope agent=ann,team=support" in text
    assert "state (window open): behind_pace" in text
    assert "value 220" in text
    assert f"expected {expected:.4g} by now, on pace from 234.8 (tolerance 10%)" in text
    assert f"{expected * 0.9:.4g}" == "234.8"
    assert "elapsed 21.74% of the window (business hours)" in text
    assert "agent=bob" not in text


def test_every_scope_without_a_filter_and_the_workers_record() -> None:
    worker = {
        "target": "tickets",
        "scope": BOB,
        "state": "on_pace",
        "final": False,
        "updated_at": "2026-12-08T09:30:00+00:00",
        "value": 290,
        "expected": 250.0,
    }
    text = "\n".join(check(CONFIG, "tickets", {}, RECORDS, [worker]))
    assert "scope agent=bob,team=support" in text and "scope agent=ann,team=support" in text
    assert "worker's last record: on_pace at 2026-12-08T09:30:00+00:00, value 290" in text


def test_a_ratio_below_its_minimum_volume() -> None:
    text = "\n".join(check(CONFIG, "sl", {}, RECORDS, []))
    assert "state (window open): insufficient_data" in text
    assert "volume 12 (minimum 20)" in text
    assert "why: volume 12 < minimum 20" in text


def test_a_closed_window_gets_its_verdict() -> None:
    closed = aggregate("tickets_solved", "month", DECEMBER, BOB, 1100, final=True)
    text = "\n".join(check(CONFIG, "tickets", parse_scope("agent=bob"), [*RECORDS, closed], []))
    assert "verdict (window closed): missed" in text
    assert "why: 1100 is not >= 1200" in text


def test_unknown_target_and_bad_scope() -> None:
    with pytest.raises(CckpiError, match="no target 'nope'"):
        check(CONFIG, "nope", {}, RECORDS, [])
    with pytest.raises(CckpiError, match="name=value"):
        parse_scope("team")
    assert check(CONFIG, "tickets", {"agent": "zed"}, RECORDS, [])[-1].endswith(
        "matching scope yet"
    )
