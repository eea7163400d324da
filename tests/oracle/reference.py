"""Batch reference computation of every KPI, written from CONTRACT.md and docs/semantics.md.

Slow and plain on purpose: integration tests compare what the streaming worker
publishes on `cc.kpi.aggregates` with `compute(...)`. Three passes:

1. ingest: per source partition, in arrival order, classify each message as
   invalid, duplicate, late or accepted, tracking the partition watermark;
2. fold: put every accepted event (and every reply/resolution sample, computed
   per ticket over all accepted events) into the (window, scope) cells it counts in;
3. read: the KPI values of every cell, the agent-beside-team values, finality.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.oracle.clock import Calendar, CalendarSpec, elapsed_seconds
from tests.oracle.kpis import (
    AGENT_KPIS,
    CLOCKS,
    DEFAULT_QUEUE_SETTINGS,
    Cell,
    Scope,
    Value,
    fold_event,
    kpi_values,
    reply_samples,
    resolution_samples,
    scope_kind,
    scopes_of,
)
from tests.oracle.validation import Event, Invalid, parse_event
from tests.oracle.windows import Window, window_of, windows_of

WINDOWED_TOPICS = ("cc.contacts", "cc.tickets", "cc.surveys", "cc.quality")


@dataclass(frozen=True)
class Arrival:
    topic: str  # base topic name, e.g. "cc.contacts"
    partition: int
    value: bytes  # raw message value as sent


@dataclass(frozen=True)
class OracleConfig:
    reporting_timezone: str = "UTC"
    grace_seconds: float = 300
    dedup_horizon_seconds: float = 86400
    # queue -> (service_level_seconds, short_abandon_seconds); others get (20, 5)
    queues: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    # team -> calendar; a team not listed is open 24x7
    calendars: Mapping[str, CalendarSpec] = field(default_factory=dict)
    # partitions of each windowed topic; all of them must pass a window to close it
    partitions: Mapping[str, int] = field(default_factory=lambda: dict.fromkeys(WINDOWED_TOPICS, 4))

    @classmethod
    def from_config_file(cls, raw: Mapping[str, Any], **settings: Any) -> OracleConfig:
        """From the parsed YAML of `CCKPI_CONFIG` (targets are ignored)."""
        queues = {
            str(name): (
                float(spec.get("service_level_seconds", DEFAULT_QUEUE_SETTINGS[0])),
                float(spec.get("short_abandon_seconds", DEFAULT_QUEUE_SETTINGS[1])),
            )
            for name, spec in (raw.get("queues") or {}).items()
        }
        calendars = {
            str(team): CalendarSpec.from_dict(spec)
            for team, spec in (raw.get("calendars") or {}).items()
        }
        return cls(queues=queues, calendars=calendars, **settings)


@dataclass(frozen=True)
class DeadLetter:
    reason: str  # the oracle's invalid reason, or "late"
    detail: str
    topic: str
    partition: int
    position: int  # index of the message within its partition's arrivals
    raw: bytes


@dataclass
class OracleResult:
    # aggregate key -> (value, numerator, denominator), windows final at the end only
    finals: dict[str, Value]
    # aggregate key -> the full expected record minus updated_at, final windows only
    finals_records: dict[str, dict[str, Any]]
    # every window, final or not ("final" tells): what the last update should say
    records: dict[str, dict[str, Any]]
    accepted: int
    invalid: dict[str, int]  # by reason
    duplicate: int
    late: int
    accepted_by_type: dict[tuple[str, str], int]  # (topic, type): cc_events_total
    invalid_by_topic: dict[str, int]
    duplicate_by_topic: dict[str, int]
    late_by_topic: dict[str, int]
    dead_letters: list[DeadLetter]
    watermarks: dict[tuple[str, int], datetime]  # (topic, partition) -> final watermark
    closing_watermark: datetime | None  # min over windowed partitions; None: one never seen
    global_watermark: datetime | None  # largest accepted occurred_at anywhere
    certifications: dict[str, tuple[int, int]]  # team -> (expired, expiring within 30 days)
    events: list[Event]  # accepted events, arrival order

    @property
    def sent(self) -> int:
        return self.accepted + sum(self.invalid.values()) + self.duplicate + self.late


@dataclass
class _Partition:
    watermark: datetime | None = None
    accepted_at: dict[str, datetime] = field(default_factory=dict)  # event_id -> watermark
    position: int = 0


@dataclass
class _Ingested:
    events: list[Event] = field(default_factory=list)
    partitions: dict[tuple[str, int], _Partition] = field(
        default_factory=lambda: defaultdict(_Partition)
    )
    accepted_by_type: Counter[tuple[str, str]] = field(default_factory=Counter)
    invalid: Counter[str] = field(default_factory=Counter)
    invalid_by_topic: Counter[str] = field(default_factory=Counter)
    duplicate_by_topic: Counter[str] = field(default_factory=Counter)
    late_by_topic: Counter[str] = field(default_factory=Counter)
    dead_letters: list[DeadLetter] = field(default_factory=list)


def _ingest(arrivals: Iterable[Arrival], config: OracleConfig, zone: ZoneInfo) -> _Ingested:
    """Steps 1-4 of docs/semantics.md, per source partition in arrival order."""
    grace = timedelta(seconds=config.grace_seconds)
    horizon = timedelta(seconds=config.dedup_horizon_seconds)
    out = _Ingested()
    for arrival in arrivals:
        part = out.partitions[(arrival.topic, arrival.partition)]
        position = part.position
        part.position += 1
        parsed = parse_event(arrival.topic, arrival.value)
        if isinstance(parsed, Invalid):
            out.invalid[parsed.reason] += 1
            out.invalid_by_topic[arrival.topic] += 1
            out.dead_letters.append(
                DeadLetter(
                    parsed.reason,
                    parsed.detail,
                    arrival.topic,
                    arrival.partition,
                    position,
                    arrival.value,
                )
            )
            continue
        event = parsed
        accepted_at = part.accepted_at.get(event.event_id)
        # Accepted ids always come with a watermark; the horizon is watermark advance.
        if accepted_at is not None and part.watermark - accepted_at <= horizon:
            out.duplicate_by_topic[arrival.topic] += 1
            continue
        hour = window_of(event.occurred_at, "hour", zone)
        if part.watermark is not None and part.watermark >= hour.end + grace:
            out.late_by_topic[arrival.topic] += 1
            out.dead_letters.append(
                DeadLetter(
                    "late",
                    f"hour {hour.start_label(zone)} final",
                    arrival.topic,
                    arrival.partition,
                    position,
                    arrival.value,
                )
            )
            continue
        if part.watermark is None or event.occurred_at > part.watermark:
            part.watermark = event.occurred_at
        part.accepted_at[event.event_id] = part.watermark
        out.accepted_by_type[(event.topic, event.type)] += 1
        out.events.append(event)
    return out


def _fold(
    events: list[Event], config: OracleConfig, zone: ZoneInfo
) -> dict[tuple[Window, Scope], Cell]:
    """Put every event and every clock-KPI sample into the cells it counts in."""
    calendars = {team: Calendar.from_spec(spec) for team, spec in config.calendars.items()}
    cells: dict[tuple[Window, Scope], Cell] = defaultdict(Cell)
    windowed = [event for event in events if event.topic in WINDOWED_TOPICS]
    for event in windowed:
        settings = DEFAULT_QUEUE_SETTINGS
        if event.queue is not None:
            settings = config.queues.get(event.queue, DEFAULT_QUEUE_SETTINGS)
        for window in windows_of(event.occurred_at, zone):
            for scope in scopes_of(event):
                fold_event(cells[(window, scope)], event, settings)
    for sample in resolution_samples(windowed) + reply_samples(windowed):
        durations = {
            "calendar": (sample.until - sample.since).total_seconds(),
            "business": elapsed_seconds(
                sample.since, sample.until, calendars.get(sample.event.team)
            ),
        }
        for window in windows_of(sample.until, zone):
            for scope in scopes_of(sample.event):
                for clock in CLOCKS:
                    cells[(window, scope)].durations[(sample.kpi, clock)].append(durations[clock])
    return cells


# (kpi, clock, window, scope, value)
_Row = tuple[str, str | None, Window, Scope, Value]
# (kpi, clock, window, team)
_TeamWindow = tuple[str, str | None, Window, str]


def _agent_beside_team(rows: list[_Row]) -> list[_Row]:
    """`<kpi>_team_agent_average` at {team} and `<kpi>_to_team_average` at {team, agent}."""
    by_team: dict[_TeamWindow, list[tuple[Scope, float]]] = defaultdict(list)
    for kpi, clock, window, scope, value in rows:
        if kpi in AGENT_KPIS and scope_kind(scope) == "agent":
            assert value[0] is not None
            by_team[(kpi, clock, window, dict(scope)["team"])].append((scope, value[0]))
    derived: list[_Row] = []
    for (kpi, clock, window, team), agents in by_team.items():
        average = math.fsum(value for _, value in agents) / len(agents)
        team_scope: Scope = (("team", team),)
        derived.append(
            (f"{kpi}_team_agent_average", clock, window, team_scope, (average, None, None))
        )
        if average != 0:
            for scope, value in agents:
                ratio = (value / average, None, None)
                derived.append((f"{kpi}_to_team_average", clock, window, scope, ratio))
    return derived


def aggregate_key(kpi: str, period: str, window_start: str, scope: Scope, clock: str | None) -> str:
    """`kpi|period|window_start|scope`, plus `|clock=...` for the clock KPIs."""

    def escaped(value: str) -> str:  # contract v1.2: \ , = | escaped inside label values
        return "".join("\\" + c if c in "\\,=|" else c for c in value)

    pairs = ",".join(f"{n}={escaped(v)}" for n, v in sorted(scope))
    key = f"{kpi}|{period}|{window_start}|" + pairs
    return key + (f"|clock={clock}" if clock is not None else "")


def _closing_watermark(ingested: _Ingested, config: OracleConfig) -> datetime | None:
    """The smallest final watermark over every partition of the windowed topics."""
    required = {
        (topic, partition)
        for topic in WINDOWED_TOPICS
        for partition in range(config.partitions.get(topic, 4))
    }
    required |= {key for key in ingested.partitions if key[0] in WINDOWED_TOPICS}
    watermarks = [ingested.partitions[key].watermark for key in sorted(required)]
    if not watermarks or any(w is None for w in watermarks):
        return None
    return min(w for w in watermarks if w is not None)


def _certifications(events: list[Event], now: datetime | None) -> dict[str, tuple[int, int]]:
    """Per team: (expired, expiring within 30 days) of (agent, certification) pairs."""
    expiry: dict[tuple[str, str, str], datetime] = {}
    for event in events:
        if event.type == "agent.certified":
            assert event.agent and event.certification and event.valid_days
            key = (event.team, event.agent, event.certification)
            ends = event.occurred_at + timedelta(days=event.valid_days)
            expiry[key] = max(ends, expiry.get(key, ends))
    result: dict[str, tuple[int, int]] = {}
    for (team, _, _), ends in expiry.items():
        assert now is not None
        expired, expiring = result.get(team, (0, 0))
        if ends <= now:
            expired += 1
        elif ends <= now + timedelta(days=30):
            expiring += 1
        result[team] = (expired, expiring)
    return result


def compute(arrivals: Iterable[Arrival], config: OracleConfig) -> OracleResult:
    """Everything the worker should have published, from the raw messages it received."""
    zone = ZoneInfo(config.reporting_timezone)
    grace = timedelta(seconds=config.grace_seconds)
    ingested = _ingest(arrivals, config, zone)
    cells = _fold(ingested.events, config, zone)
    rows: list[_Row] = []
    for (window, scope), cell in cells.items():
        for kpi, clock, value in kpi_values(cell, scope_kind(scope)):
            rows.append((kpi, clock, window, scope, value))
    rows += _agent_beside_team(rows)

    closing = _closing_watermark(ingested, config)
    records: dict[str, dict[str, Any]] = {}
    for kpi, clock, window, scope, (value, numerator, denominator) in rows:
        start = window.start_label(zone)
        records[aggregate_key(kpi, window.period, start, scope, clock)] = {
            "kpi": kpi,
            "period": window.period,
            "window_start": start,
            "window_end": window.end_label(zone),
            "scope": dict(scope),
            "clock": clock,
            "value": value,
            "numerator": numerator,
            "denominator": denominator,
            "final": closing is not None and closing >= window.end + grace,
        }
    records = dict(sorted(records.items()))
    finals_records = {key: record for key, record in records.items() if record["final"]}
    watermarks = {
        key: part.watermark
        for key, part in ingested.partitions.items()
        if part.watermark is not None
    }
    global_watermark = max(watermarks.values(), default=None)
    return OracleResult(
        finals={
            key: (r["value"], r["numerator"], r["denominator"]) for key, r in finals_records.items()
        },
        finals_records=finals_records,
        records=records,
        accepted=len(ingested.events),
        invalid=dict(ingested.invalid),
        duplicate=sum(ingested.duplicate_by_topic.values()),
        late=sum(ingested.late_by_topic.values()),
        accepted_by_type=dict(ingested.accepted_by_type),
        invalid_by_topic=dict(ingested.invalid_by_topic),
        duplicate_by_topic=dict(ingested.duplicate_by_topic),
        late_by_topic=dict(ingested.late_by_topic),
        dead_letters=ingested.dead_letters,
        watermarks=watermarks,
        closing_watermark=closing,
        global_watermark=global_watermark,
        certifications=_certifications(ingested.events, global_watermark),
        events=ingested.events,
    )
