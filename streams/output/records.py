"""Records published for other services: aggregates, breaches, and their keys."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from streams.errors import CckpiError
from streams.kpi.merge import KpiValue, Scope
from streams.targets.evaluate import TargetState


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
    """A value on ``cc.target.breaches``: one per state transition of a target and scope
    while its window is open, and one verdict (``final: true``) when the window closes."""

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
    state: str = Field(
        pattern="^(met|breached|on_pace|behind_pace|insufficient_data|missed)$",
        description="Open window: met, breached, on_pace, behind_pace or insufficient_data; "
        "verdict: met, missed or insufficient_data.",
    )
    updated_at: str
    final: bool = Field(description="True only for the verdict on the window's final value.")
    expected: float | None = Field(
        description="Volume goals: the pace value now (open) or the goal for the window "
        "(verdict, pro-rated by staffed time for an agent with shifts)."
    )
    volume: float | None = Field(
        None, description="The KPI's denominator (contacts, responses, samples); null for counts."
    )
    elapsed: float | None = Field(
        None, description="Volume goals: the elapsed share of the window (0..1)."
    )


_SPECIAL = str.maketrans({c: "\\" + c for c in "\\,=|"})


def escape_label(value: str) -> str:
    """A label value as it appears in a key: ``\\``, ``,``, ``=`` and ``|`` escaped (v1.2)."""
    return value.translate(_SPECIAL)


def scope_text(scope: Scope) -> str:
    """A scope's key text: sorted ``name=value`` pairs joined by ``,``, values escaped."""
    return ",".join(f"{name}={escape_label(value)}" for name, value in scope)


class BadKey(CckpiError):
    """An aggregate key or scope text that does not parse."""


def _split(text: str, separator: str) -> list[str]:
    """Split at unescaped ``separator``; parts keep their escapes."""
    parts, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if escaped:
        raise BadKey(f"dangling backslash in {text!r}")
    parts.append("".join(current))
    return parts


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text, flags=re.DOTALL)


def parse_scope(text: str) -> Scope:
    """The scope of a key's scope text (inverse of :func:`scope_text`)."""
    if text == "":
        return ()
    pairs = []
    for part in _split(text, ","):
        name_value = _split(part, "=")
        if len(name_value) != 2 or not name_value[0]:
            raise BadKey(f"scope part {part!r} is not name=value")
        pairs.append((_unescape(name_value[0]), _unescape(name_value[1])))
    names = [name for name, _ in pairs]
    if names != sorted(set(names)):
        raise BadKey(f"scope labels {names} are not sorted and unique")
    return tuple(pairs)


@dataclass(frozen=True, slots=True)
class ParsedKey:
    """The parts of an aggregate key."""

    kpi: str
    period: str
    window_start: str
    scope: Scope
    clock: str | None


def parse_key(key: str) -> ParsedKey:
    """Split ``kpi|period|window_start|scope[|clock=...]`` back into its parts."""
    parts = _split(key, "|")
    clock = None
    if len(parts) == 5 and parts[4].startswith("clock="):
        clock = parts.pop()[len("clock=") :]
    if len(parts) != 4:
        raise BadKey(f"aggregate key {key!r} does not have 4 or 5 parts")
    kpi, period, start, scope = parts
    return ParsedKey(kpi, period, start, parse_scope(scope), clock)


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


def breach_record(
    state: TargetState, start: str | None, end: str | None, updated: str
) -> dict[str, Any]:
    """The JSON-ready :class:`BreachRecord` of a transition or a verdict."""
    target = state.target
    return {
        "target": target.id,
        "kpi": target.kpi,
        "scope": dict(state.scope),
        "period": target.period,
        "clock": target.clock,
        "window_start": start,
        "window_end": end,
        "value": state.value,
        "target_value": target.value,
        "op": target.op,
        "severity": target.severity,
        "state": state.state,
        "updated_at": updated,
        "final": state.final,
        "expected": state.expected,
        "volume": state.volume,
        "elapsed": state.share,
    }
