"""Records published for other services: aggregates, breaches, and their keys."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from streams.kpi.merge import KpiValue, Scope


class AggregateRecord(BaseModel):
    """A value on ``cc.kpi.aggregates`` (CONTRACT.md, Outputs)."""

    model_config = ConfigDict(extra="forbid")

    kpi: str
    period: str = Field(pattern="^(hour|day|week|month)$")
    window_start: str
    window_end: str
    scope: dict[str, str]
    clock: str | None
    value: float
    numerator: float | None
    denominator: float | None
    final: bool
    updated_at: str


class BreachRecord(BaseModel):
    """A value on ``cc.target.breaches``: one per transition between met and breached."""

    model_config = ConfigDict(extra="forbid")

    target: str
    kpi: str
    scope: dict[str, str]
    period: str
    clock: str | None
    window_start: str | None
    window_end: str | None
    value: float | None
    target_value: float
    op: str
    severity: str
    state: str = Field(pattern="^(breached|met)$")
    updated_at: str


def scope_text(scope: Scope) -> str:
    return ",".join(f"{name}={value}" for name, value in scope)


@functools.lru_cache(maxsize=65536)
def _scope_parts(scope: Scope) -> tuple[dict[str, str], str]:
    """A scope's record field and key text, built once per scope (every KPI of every
    window of a scope repeats them). The dict is shared: serialise it, never change it."""
    return dict(scope), scope_text(scope)


def aggregate_key(kpi: str, period: str, window_start: str, scope: Scope, clock: str | None) -> str:
    """``kpi|period|window_start|scope`` (``|clock=...`` for the clock KPIs)."""
    return _key(kpi, period, window_start, scope_text(scope), clock)


def _key(kpi: str, period: str, window_start: str, scope: str, clock: str | None) -> str:
    key = f"{kpi}|{period}|{window_start}|{scope}"
    return f"{key}|clock={clock}" if clock else key


def updated_at(now: datetime) -> str:
    """The ``updated_at`` text of records published at ``now``."""
    return now.astimezone(UTC).isoformat(timespec="seconds")


def aggregate_record(
    value: KpiValue, period: str, start: str, end: str, final: bool, updated: str
) -> tuple[str, dict[str, Any]]:
    """Key and JSON-ready value of one aggregate record (``updated`` from :func:`updated_at`)."""
    scope, text = _scope_parts(value.scope)
    record = {
        "kpi": value.kpi,
        "period": period,
        "window_start": start,
        "window_end": end,
        "scope": scope,
        "clock": value.clock,
        "value": value.value,
        "numerator": value.numerator,
        "denominator": value.denominator,
        "final": final,
        "updated_at": updated,
    }
    return _key(value.kpi, period, start, text, value.clock), record
