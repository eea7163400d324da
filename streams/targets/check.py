"""``cckpi targets check TARGET [--scope team=support,agent=ana]``: why a target is in its state.

It judges from what the worker published, with the worker's own judging code
(:mod:`streams.targets.states`, :mod:`streams.targets.pace`): the newest
aggregate record of the target's KPI per scope on ``cc.kpi.aggregates`` (value
and volume), the team calendars of the config file, and the event time reached
(the start of the newest hour window on the topic: at most an hour behind the
worker's watermark). Beside it, the worker's own last record for the scope on
``cc.target.breaches``. Shifts are known to the worker only: for an agent with
``agent.shift`` events the worker's record is the one to trust.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from aiokafka.errors import KafkaError

from streams.config import AppConfig, TargetConfig, load_config
from streams.errors import CckpiError
from streams.generate.promql import describe_target, format_number
from streams.kpi.business_hours import BusinessCalendar
from streams.settings import Settings
from streams.targets.pace import NO_PACE, Pace, pace
from streams.targets.states import (
    is_volume_goal,
    judge_close,
    judge_open,
    min_volume,
    pace_floor,
    tolerance,
)
from streams.topics import AGGREGATES, BREACHES, read_all

Record = Mapping[str, Any]


def parse_scope(text: str | None) -> dict[str, str]:
    """``team=support,agent=ana`` -> ``{"team": "support", "agent": "ana"}``."""
    if not text:
        return {}
    out = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise CckpiError(f"--scope {text!r}: expected name=value pairs joined by ','")
        out[name.strip()] = value.strip()
    return out


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def event_time(records: Iterable[Record]) -> float | None:
    """The start of the newest hour window published: how far event time has got."""
    starts = [_epoch(r["window_start"]) for r in records if r.get("period") == "hour"]
    return max(starts, default=None)


def latest(
    target: TargetConfig, records: Iterable[Record], scope: Mapping[str, str]
) -> list[Record]:
    """Per scope the target watches (and ``scope`` narrows), its newest window's last record."""
    found: dict[tuple[tuple[str, str], ...], Record] = {}
    for record in records:
        if (record.get("kpi"), record.get("period"), record.get("clock")) != (
            target.kpi,
            target.period,
            target.clock,
        ):
            continue
        labels = record["scope"]
        if not target.matches(labels) or any(labels.get(k) != v for k, v in scope.items()):
            continue
        key = tuple(sorted(labels.items()))
        before = found.get(key)
        if before is None or _epoch(record["window_start"]) >= _epoch(before["window_start"]):
            found[key] = record
    return [found[key] for key in sorted(found)]


def explain(
    target: TargetConfig,
    record: Record,
    now: float | None,
    calendar: BusinessCalendar | None,
    worker: Record | None,
) -> list[str]:
    """The lines that say why ``record``'s scope is in its state."""
    value = float(record["value"])
    volume = None if is_volume_goal(target) else record.get("denominator")
    start, end = _epoch(record["window_start"]), _epoch(record["window_end"])
    final = bool(record.get("final"))
    judged: Pace = NO_PACE
    if is_volume_goal(target):
        judged = pace(target.value, start, end, end if final else (now or start), calendar)
    scope = ",".join(f"{k}={v}" for k, v in sorted(record["scope"].items())) or "(whole centre)"
    clock = "business hours" if calendar is not None else "calendar time"
    lines = [f"scope {scope}: window {record['window_start']} .. {record['window_end']}"]
    if final:
        state = judge_close(target, value, volume, judged.goal)
        lines.append(f"  verdict (window closed): {state}")
    else:
        state = judge_open(target, value, volume, judged.expected)
        lines.append(f"  state (window open): {state}")
    line = f"  value {format_number(value)}"
    if volume is not None:
        least = format_number(min_volume(target))
        line += f", volume {format_number(float(volume))} (minimum {least})"
    lines.append(line)
    if judged.share is not None and judged.expected is not None:
        floor = pace_floor(target, judged.expected)
        lines.append(
            f"  elapsed {judged.share:.2%} of the window ({clock}); expected "
            f"{judged.expected:.4g} by now, on pace from {floor:.4g} "
            f"(tolerance {tolerance(target):.0%})"
        )
    elif is_volume_goal(target):
        lines.append(f"  the window holds no {clock} for this scope: no pace, no fair verdict")
    lines.append(f"  why: {_why(target, state, value, volume, judged)}")
    if worker is not None:
        expected = worker.get("expected")
        kind = " (verdict)" if worker.get("final") else ""
        lines.append(
            f"  worker's last record: {worker['state']}{kind} at {worker['updated_at']}, "
            f"value {format_number(float(worker['value']))}"
            + ("" if expected is None else f", expected {float(expected):.4g}")
        )
    return lines


def _why(target: TargetConfig, state: str, value: float, volume: Any, judged: Pace) -> str:
    goal = f"{target.op} {format_number(target.value)}"
    if state == "insufficient_data":
        if volume is not None:
            least = format_number(min_volume(target))
            return f"volume {format_number(float(volume))} < minimum {least}"
        return "no business time in the window to judge by"
    if state == "on_pace":
        return f"{format_number(value)} has not reached {goal} yet but keeps up with the pace"
    if state == "behind_pace":
        return f"{format_number(value)} is more than {tolerance(target):.0%} below the pace"
    if state in ("missed", "breached"):
        goal_now = target.value if judged.goal is None else judged.goal
        return f"{format_number(value)} is not {target.op} {goal_now:.4g}"
    return f"{format_number(value)} {goal}"


def check(
    config: AppConfig,
    target_id: str,
    scope: Mapping[str, str],
    aggregates: Sequence[Record],
    breaches: Sequence[Record],
) -> list[str]:
    target = next((t for t in config.targets if t.id == target_id), None)
    if target is None:
        known = ", ".join(t.id for t in config.targets) or "none"
        raise CckpiError(f"no target {target_id!r} in the config (targets: {known})")
    lines = [f"target {target.id}: {describe_target(target)}"]
    records = latest(target, aggregates, scope)
    if not records:
        lines.append("  no aggregate of its KPI at a matching scope yet")
        return lines
    now = event_time(aggregates)
    calendars = {team: spec.calendar() for team, spec in config.calendars.items()}
    last: dict[tuple[tuple[str, str], ...], Record] = {}
    for record in breaches:
        if record.get("target") == target.id:
            last[tuple(sorted(record["scope"].items()))] = record
    for record in records:
        team = record["scope"].get("team")
        calendar = calendars.get(team) if team is not None else None
        key = tuple(sorted(record["scope"].items()))
        lines += explain(target, record, now, calendar, last.get(key))
    return lines


async def _read(settings: Settings, topic: str, idle: float) -> list[dict[str, Any]]:
    records = await read_all(settings.kafka_kwargs(), settings.topic(topic), idle)
    return [orjson.loads(value) for _, value in records if value]


def print_check(settings: Settings, args: argparse.Namespace) -> int:
    config = load_config(args.config or settings.config)
    scope = parse_scope(args.scope)
    try:
        aggregates = asyncio.run(_read(settings, AGGREGATES, args.idle))
        breaches = asyncio.run(_read(settings, BREACHES, args.idle))
    except KafkaError as exc:
        servers = settings.kafka_bootstrap_servers
        raise CckpiError(f"cannot read the topics at {servers}: {exc}") from exc
    for line in check(config, args.target, scope, aggregates, breaches):
        print(line)
    return 0
