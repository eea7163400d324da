"""The YAML config file named by ``CCKPI_CONFIG``: queues, calendars and targets.

Every section is optional and unknown keys are an error. Errors name the file,
the field and, for targets, the line, so a bad file is fixed in one go.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from streams.errors import ConfigError
from streams.kpi.business_hours import BusinessCalendar
from streams.kpi.catalogue import (
    CERTIFICATION_KPIS,
    KPI_BY_NAME,
    PERIODS,
    SCOPE_LABELS,
    TEAM_AVERAGE_SUFFIX,
    Kind,
    ScopeKind,
    target_kpi_names,
)

_RANGE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-(([01]\d|2[0-3]):([0-5]\d)|24:00)$")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SCOPE_NAMES = ("team", "queue", "agent", "channel")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class QueueConfig(_Strict):
    """Per-queue thresholds; a queue not listed gets the defaults."""

    service_level_seconds: float = Field(20, ge=0, description="Answered within this is in SL.")
    short_abandon_seconds: float = Field(5, ge=0, description="Hang-ups before this are short.")
    team: str | None = Field(
        None, min_length=1, max_length=64, description="Team of a source that knows only the queue."
    )
    channel: Literal["voice", "chat", "email", "social", "messaging"] = Field(
        "voice", description="Channel of a source that knows only the queue."
    )


class CalendarConfig(_Strict):
    """A team's business hours: zone, weekly open ranges, holidays."""

    timezone: str
    hours: dict[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], list[str]] = Field(
        default_factory=dict
    )
    holidays: list[str] = Field(default_factory=list)

    @field_validator("hours")
    @classmethod
    def _ranges(cls, hours: dict[str, list[str]]) -> dict[str, list[str]]:
        for day, ranges in hours.items():
            for text in ranges:
                if not _RANGE.match(text):
                    raise ValueError(f"{day}: {text!r} is not a range like '09:00-17:30'")
        return hours

    @model_validator(mode="after")
    def _buildable(self) -> CalendarConfig:
        """Everything the business-hours clock refuses is refused here, with the field."""
        self.calendar()
        return self

    def calendar(self) -> BusinessCalendar:
        return BusinessCalendar.from_spec(
            self.timezone,
            {day: list(ranges) for day, ranges in self.hours.items()},
            self.holidays,
        )


class ChatwootConfig(_Strict):
    """The Chatwoot ingest's mapping settings (CONTRACT.md v1.2, HTTP ingest)."""

    inbox_teams: dict[int, str] = Field(
        default_factory=dict,
        description="Inbox id -> team, for conversations without a Chatwoot team.",
    )

    @field_validator("inbox_teams")
    @classmethod
    def _team_names(cls, teams: dict[int, str]) -> dict[int, str]:
        for inbox, team in teams.items():
            if not 1 <= len(team) <= 64:
                raise ValueError(f"inbox {inbox}: a team name is 1..64 characters")
        return teams


Op = Literal["<", "<=", ">", ">=", "=="]


class TargetConfig(_Strict):
    """One target: a KPI, a scope selector, a period, a comparator and a value."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    kpi: str
    period: Literal["hour", "day", "week", "month"]
    scope: dict[Literal["team", "queue", "agent", "channel"], str] = Field(default_factory=dict)
    op: Op
    value: float
    severity: Literal["info", "warning", "critical"] = "warning"
    clock: Literal["business", "calendar"] | None = None
    description: str | None = None
    min_volume: float | None = Field(
        None,
        ge=0,
        description="Ratios and means: below this volume (the KPI's denominator) no verdict; "
        "default per KPI kind (streams.targets.states.DEFAULT_MIN_VOLUME).",
    )
    pace_tolerance: float | None = Field(
        None,
        ge=0,
        lt=1,
        description="Volume goals (>= on a count KPI): on pace while value >= expected x "
        "(1 - tolerance); default 0.1.",
    )

    @model_validator(mode="after")
    def _known(self) -> TargetConfig:
        if self.kpi not in target_kpi_names():
            raise ValueError(f"unknown kpi {self.kpi!r}")
        averaged = KPI_BY_NAME.get(self.kpi.removesuffix(TEAM_AVERAGE_SUFFIX))
        if self.kpi.endswith(TEAM_AVERAGE_SUFFIX) and averaged is not None:
            if self.scope_kind is not ScopeKind.TEAM:
                raise ValueError(f"{self.kpi} is published per team: scope must be {{team: ...}}")
            return self._clock_for(averaged.clocked)
        kpi = KPI_BY_NAME.get(self.kpi)
        if kpi is not None and kpi.is_ratio and not 0 <= self.value <= 1:
            raise ValueError(f"{self.kpi} is a ratio (0..1); {self.value} is out of range")
        if kpi is not None and kpi.name == "nps_score" and not -100 <= self.value <= 100:
            raise ValueError(f"nps_score is -100..100; {self.value} is out of range")
        if kpi is not None and self.scope_kind not in kpi.scopes:
            raise ValueError(f"{self.kpi} is not published at scope {sorted(self.scope_labels)}")
        if self.kpi in CERTIFICATION_KPIS and self.scope_kind is not ScopeKind.TEAM:
            raise ValueError(f"{self.kpi} is published per team: scope must be {{team: ...}}")
        return self._clock_for(kpi is not None and kpi.clocked)

    @model_validator(mode="after")
    def _pace_only_for_volume_goals(self) -> TargetConfig:
        kpi = KPI_BY_NAME.get(self.kpi)
        volume_goal = kpi is not None and kpi.kind is Kind.COUNT and self.op in (">=", ">")
        if self.pace_tolerance is not None and not volume_goal:
            raise ValueError("pace_tolerance applies to '>=' goals on a count KPI only")
        return self

    def _clock_for(self, clocked: bool) -> TargetConfig:
        if self.clock is not None and not clocked:
            raise ValueError(f"{self.kpi} has no clock")
        if clocked and self.clock is None:
            object.__setattr__(self, "clock", "calendar")
        return self

    @property
    def scope_labels(self) -> tuple[str, ...]:
        """Label names of the scope the target applies to (team implied by finer labels)."""
        names = set(self.scope)
        if names:
            names.add("team")
        return tuple(sorted(names))

    @property
    def scope_kind(self) -> ScopeKind | None:
        labels = set(self.scope_labels)
        for kind, kind_labels in SCOPE_LABELS.items():
            if set(kind_labels) == labels:
                return kind
        return None

    def matches(self, scope: Mapping[str, str]) -> bool:
        """True when a published scope is one this target watches."""
        if set(scope) != set(self.scope_labels):
            return False
        return all(want in ("*", scope[name]) for name, want in self.scope.items())


class AppConfig(_Strict):
    """The whole config file."""

    queues: dict[str, QueueConfig] = Field(default_factory=dict)
    calendars: dict[str, CalendarConfig] = Field(default_factory=dict)
    targets: list[TargetConfig] = Field(default_factory=list)
    chatwoot: ChatwootConfig = Field(default_factory=lambda: ChatwootConfig())

    @model_validator(mode="after")
    def _unique_ids(self) -> AppConfig:
        seen: set[str] = set()
        for target in self.targets:
            if target.id in seen:
                raise ValueError(f"target id {target.id!r} is used twice")
            seen.add(target.id)
        return self

    def queue(self, name: str) -> QueueConfig:
        return self.queues.get(name, _DEFAULT_QUEUE)

    def queue_labels(self, name: str) -> tuple[str, str]:
        """(team, channel) of a queue, for sources that know only the queue (v1.2):
        the config's, else the queue's own name as team and ``voice``."""
        queue = self.queues.get(name, _DEFAULT_QUEUE)
        return (queue.team or name, queue.channel)

    def service_level_bounds(self) -> list[float]:
        """Every configured service-level threshold (histogram bucket bounds)."""
        bounds = {q.service_level_seconds for q in self.queues.values()}
        bounds.add(_DEFAULT_QUEUE.service_level_seconds)
        return sorted(bounds)


_DEFAULT_QUEUE = QueueConfig()
assert set(PERIODS) == {"hour", "day", "week", "month"}  # noqa: S101 - guards the Literal above


def _target_lines(text: str) -> list[int]:
    """Line numbers (1-based) of each entry of the ``targets`` list, for error messages."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return []
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if key.value == "targets" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def parse_config(text: str, source: str = "<config>") -> AppConfig:
    """Validate config text; raise :class:`ConfigError` with every problem listed."""
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping")
    try:
        return AppConfig.model_validate(data)
    except ValidationError as exc:
        lines = _target_lines(text)
        problems = []
        for error in exc.errors():
            loc = error["loc"]
            where = ".".join(str(part) for part in loc)
            targeted = len(loc) >= 2 and loc[0] == "targets" and isinstance(loc[1], int)
            if targeted and int(loc[1]) < len(lines):
                where = f"line {lines[int(loc[1])]}: {where}"
            problems.append(f"  {where}: {error['msg']}")
        raise ConfigError(f"{source}: invalid config:\n" + "\n".join(problems)) from exc


def load_config(path: Path | None) -> AppConfig:
    """Read the config file, or return the defaults when there is none."""
    if path is None:
        return AppConfig()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror}") from exc
    return parse_config(text, str(path))
