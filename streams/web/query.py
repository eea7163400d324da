"""Query parameters of the API, validated: a bad one is a :class:`BadRequest` naming it.

Pure functions from the request's parameters (name -> every value given) to a
query object; the handlers turn :class:`BadRequest` into a 400.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from streams.errors import CckpiError
from streams.kpi.catalogue import (
    AGENT_KPIS,
    CLOCKS,
    KPIS,
    PERIODS,
    team_average_name,
    to_team_name,
)
from streams.kpi.merge import Scope
from streams.output.metrics import WINDOW_LABELS
from streams.output.records import BadKey, parse_scope

LABELS = ("team", "queue", "agent", "channel")
KPI_NAMES = frozenset(
    {kpi.name for kpi in KPIS}
    | {team_average_name(kpi.name) for kpi in AGENT_KPIS}
    | {to_team_name(kpi.name) for kpi in AGENT_KPIS}
)
"""Every KPI name the aggregates topic (and so the API) carries."""
COMMON = ("token",)
"""Accepted by every endpoint (the board passes its token on), never a filter."""


class BadRequest(CckpiError):
    """A query parameter is unknown, repeated or has a bad value (HTTP 400)."""


@dataclass(frozen=True)
class Filter:
    """What the record filters of both endpoints share."""

    kpi: str | None = None
    period: str | None = None
    clock: str | None = None
    scope: Scope | None = None
    labels: dict[str, str] = field(default_factory=dict)

    def keeps_scope(self, scope: Scope) -> bool:
        if self.scope is not None and scope != self.scope:
            return False
        if self.labels:
            held = dict(scope)
            return all(held.get(name) == value for name, value in self.labels.items())
        return True

    def keeps(self, kpi: str, clock: str | None) -> bool:
        return (self.kpi is None or kpi == self.kpi) and (self.clock is None or clock == self.clock)


@dataclass(frozen=True)
class KpisQuery(Filter):
    window: str | None = None


@dataclass(frozen=True)
class HistoryQuery(Filter):
    start: float | None = None
    """``from``: windows starting at or after it (epoch seconds)."""
    end: float | None = None
    """``to``: windows starting before it (epoch seconds)."""


def _single(params: Mapping[str, Sequence[str]], allowed: Sequence[str]) -> dict[str, str]:
    unknown = sorted(set(params) - set(allowed) - set(COMMON))
    if unknown:
        raise BadRequest(f"unknown parameter {unknown[0]!r} (accepted: {', '.join(allowed)})")
    out = {}
    for name, values in params.items():
        if name in COMMON:
            continue
        if len(values) != 1:
            raise BadRequest(f"parameter {name!r} given {len(values)} times")
        out[name] = values[0]
    return out


def _choice(name: str, value: str | None, choices: Sequence[str] | frozenset[str]) -> str | None:
    if value is None:
        return None
    if value not in choices:
        raise BadRequest(f"unknown {name} {value!r}")
    return value


def _filter(given: dict[str, str]) -> Filter:
    scope = None
    if "scope" in given:
        try:
            scope = parse_scope(given["scope"])
        except BadKey as exc:
            raise BadRequest(f"bad scope {given['scope']!r}: {exc}") from None
        bad = [name for name, _ in scope if name not in LABELS]
        if bad:
            raise BadRequest(f"bad scope {given['scope']!r}: unknown label {bad[0]!r}")
    labels = {name: given[name] for name in LABELS if name in given}
    return Filter(
        kpi=_choice("kpi", given.get("kpi"), KPI_NAMES),
        period=_choice("period", given.get("period"), PERIODS),
        clock=_choice("clock", given.get("clock"), CLOCKS),
        scope=scope,
        labels=labels,
    )


def parse_kpis(params: Mapping[str, Sequence[str]]) -> KpisQuery:
    """``/api/v1/kpis`` parameters."""
    allowed = ("kpi", "period", "window", "clock", "scope", *LABELS)
    given = _single(params, allowed)
    window = _choice("window", given.get("window"), WINDOW_LABELS)
    f = _filter(given)
    return KpisQuery(f.kpi, f.period, f.clock, f.scope, f.labels, window=window)


def _instant(name: str, value: str | None) -> float | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"parameter {name!r}: {value!r} is not an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise BadRequest(f"parameter {name!r}: {value!r} has no UTC offset")
    return moment.timestamp()


def parse_history(params: Mapping[str, Sequence[str]]) -> HistoryQuery:
    """``/api/v1/history`` parameters."""
    allowed = ("kpi", "period", "from", "to", "clock", "scope", *LABELS)
    given = _single(params, allowed)
    start, end = _instant("from", given.get("from")), _instant("to", given.get("to"))
    if start is not None and end is not None and end < start:
        raise BadRequest("parameter 'to' is before 'from'")
    f = _filter(given)
    return HistoryQuery(f.kpi, f.period, f.clock, f.scope, f.labels, start=start, end=end)


def parse_plain(params: Mapping[str, Sequence[str]]) -> None:
    """Endpoints without parameters still refuse unknown ones."""
    _single(params, ())
