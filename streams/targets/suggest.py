"""``cckpi targets suggest``: achievable targets from what the team already does.

A target far beyond current performance demoralises a team, so each proposal
is a step from the recent median towards the best recent window, not the best
value ever seen, with the baseline it used printed beside it.

Volume goals (``>=`` on a count) are proposed per business hour: each window's
count is divided by its open time (the team's business hours where it has a
calendar, calendar time otherwise), so a month with a holiday or a short week
does not drag the baseline down; the proposal is that rate times a typical
window's open time, and the worker then judges it on pace through the window.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import yaml

from streams.config import load_config
from streams.kpi.business_hours import BusinessCalendar
from streams.kpi.catalogue import KPI_BY_NAME, Kind
from streams.settings import Settings
from streams.targets.states import DEFAULT_PACE_TOLERANCE
from streams.topics import AGGREGATES, read_all

RECENT_WINDOWS = 8


@dataclass(frozen=True)
class Suggestion:
    kpi: str
    period: str
    scope: dict[str, str]
    clock: str | None
    op: str
    value: float
    median: float
    best: float
    windows: int
    per_hour: float | None = None
    """Volume goals: the proposed count per open (business) hour."""


def open_seconds(record: Mapping[str, Any], calendar: BusinessCalendar | None) -> float | None:
    """Open time of a record's window: business seconds, or calendar seconds without a calendar."""
    if not record.get("window_end"):
        return None
    start = datetime.fromisoformat(str(record["window_start"])).timestamp()
    end = datetime.fromisoformat(str(record["window_end"])).timestamp()
    return end - start if calendar is None else calendar.business_seconds(start, end)


def suggest(
    records: Iterable[Mapping[str, Any]],
    period: str,
    step: float,
    calendars: Mapping[str, BusinessCalendar] | None = None,
) -> list[Suggestion]:
    """Proposals from final aggregate records of ``period`` (latest record per key wins);
    volume goals per open hour of each window (``calendars`` by team)."""
    latest: dict[tuple[str, str, str, str | None, str], Mapping[str, Any]] = {}
    for record in records:
        if record.get("period") != period or not record.get("final"):
            continue
        kpi = KPI_BY_NAME.get(str(record["kpi"]))
        if kpi is None:
            continue
        scope_key = ",".join(f"{k}={v}" for k, v in sorted(record["scope"].items()))
        latest[(kpi.name, scope_key, str(record["window_start"]), record["clock"], period)] = record
    series: dict[
        tuple[str, str, str | None], list[tuple[str, float, dict[str, str], float | None]]
    ] = defaultdict(list)
    for (name, scope_key, start, clock, _), record in latest.items():
        team = record["scope"].get("team")
        calendar = (calendars or {}).get(team) if team is not None else None
        hours = open_seconds(record, calendar)
        point = (start, float(record["value"]), record["scope"], hours)
        series[(name, scope_key, clock)].append(point)
    out = []
    for (name, _scope_key, clock), points in sorted(series.items()):
        points.sort(key=lambda p: p[0])
        recent = [value for _, value, _, _ in points[-RECENT_WINDOWS:]]
        kpi = KPI_BY_NAME[name]
        median = statistics.median(recent)
        best = max(recent) if kpi.higher_is_better else min(recent)
        value = median + step * (best - median)
        per_hour = None
        opens = [s for _, _, _, s in points[-RECENT_WINDOWS:]]
        if kpi.kind is Kind.COUNT and kpi.higher_is_better and all(s for s in opens):
            rates = [v / s * 3600 for v, s in zip(recent, opens, strict=True) if s]
            rate_median = statistics.median(rates)
            per_hour = rate_median + step * (max(rates) - rate_median)
            value = per_hour * statistics.median(s for s in opens if s) / 3600
        if kpi.kind is Kind.COUNT:
            value = float(round(value))
        out.append(
            Suggestion(
                name,
                period,
                points[-1][2],
                clock,
                ">=" if kpi.higher_is_better else "<=",
                round(value, 4),
                round(median, 4),
                round(best, 4),
                len(recent),
                None if per_hour is None else round(per_hour, 4),
            )
        )
    return out


def as_yaml(suggestions: list[Suggestion]) -> str:
    """The proposals as a ``targets:`` section, baseline in the description."""
    targets = []
    for s in suggestions:
        scope = "-".join(s.scope.values()) or "centre"
        entry: dict[str, Any] = {
            "id": f"{s.kpi}-{s.period}-{scope}".lower().replace("_", "-")[:63],
            "kpi": s.kpi,
            "period": s.period,
            "scope": s.scope,
            "op": s.op,
            "value": s.value,
            "severity": "warning",
            "description": f"median {s.median}, best {s.best} over the last {s.windows} "
            f"{s.period}s",
        }
        if s.per_hour is not None:
            entry["description"] += (
                f"; {s.per_hour} per open hour, judged on pace through the {s.period}"
            )
            entry["pace_tolerance"] = DEFAULT_PACE_TOLERANCE
        if s.clock:
            entry["clock"] = s.clock
        targets.append(entry)
    return yaml.safe_dump({"targets": targets}, sort_keys=False)


async def read_aggregates(settings: Settings, idle: float) -> list[dict[str, Any]]:
    records = await read_all(settings.kafka_kwargs(), settings.topic(AGGREGATES), idle)
    return [orjson.loads(value) for _, value in records if value]


def print_suggestions(settings: Settings, args: argparse.Namespace) -> int:
    records = asyncio.run(read_aggregates(settings, args.idle))
    config = load_config(settings.config)
    calendars = {team: spec.calendar() for team, spec in config.calendars.items()}
    found = suggest(records, args.period, args.step, calendars)
    if not found:
        print(f"no final {args.period} aggregates on {settings.topic(AGGREGATES)} yet")
        return 1
    print(as_yaml(found), end="")
    return 0
