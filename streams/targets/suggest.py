"""``cckpi targets suggest``: achievable targets from what the team already does.

A target far beyond current performance demoralises a team, so each proposal
is a step from the recent median towards the best recent window, not the best
value ever seen, with the baseline it used printed beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import yaml

from streams.kpi.catalogue import KPI_BY_NAME, Kind
from streams.settings import Settings
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


def suggest(records: Iterable[Mapping[str, Any]], period: str, step: float) -> list[Suggestion]:
    """Proposals from final aggregate records of ``period`` (latest record per key wins)."""
    latest: dict[tuple[str, str, str, str | None, str], Mapping[str, Any]] = {}
    for record in records:
        if record.get("period") != period or not record.get("final"):
            continue
        kpi = KPI_BY_NAME.get(str(record["kpi"]))
        if kpi is None:
            continue
        scope_key = ",".join(f"{k}={v}" for k, v in sorted(record["scope"].items()))
        latest[(kpi.name, scope_key, str(record["window_start"]), record["clock"], period)] = record
    series: dict[tuple[str, str, str | None], list[tuple[str, float, dict[str, str]]]] = (
        defaultdict(list)
    )
    for (name, scope_key, start, clock, _), record in latest.items():
        series[(name, scope_key, clock)].append((start, float(record["value"]), record["scope"]))
    out = []
    for (name, _scope_key, clock), points in sorted(series.items()):
        points.sort()
        recent = [value for _, value, _ in points[-RECENT_WINDOWS:]]
        kpi = KPI_BY_NAME[name]
        median = statistics.median(recent)
        best = max(recent) if kpi.higher_is_better else min(recent)
        value = median + step * (best - median)
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
        if s.clock:
            entry["clock"] = s.clock
        targets.append(entry)
    return yaml.safe_dump({"targets": targets}, sort_keys=False)


async def read_aggregates(settings: Settings, idle: float) -> list[dict[str, Any]]:
    records = await read_all(settings.kafka_kwargs(), settings.topic(AGGREGATES), idle)
    return [orjson.loads(value) for _, value in records if value]


def print_suggestions(settings: Settings, args: argparse.Namespace) -> int:
    records = asyncio.run(read_aggregates(settings, args.idle))
    found = suggest(records, args.period, args.step)
    if not found:
        print(f"no final {args.period} aggregates on {settings.topic(AGGREGATES)} yet")
        return 1
    print(as_yaml(found), end="")
    return 0
