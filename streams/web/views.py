"""API payloads read from the state the engine already keeps; nothing is computed here.

KPI values come from :meth:`Merger.values` for the windows the gauges report
(:func:`streams.output.metrics.reported_windows`), records are built by the
aggregates topic's own :func:`aggregate_record`, and target states are the
:class:`TargetBook`'s.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from streams.kpi.catalogue import (
    AGENT_KPIS,
    CERTIFICATION_KPIS,
    KPIS,
    PERIODS,
    team_average_name,
    to_team_name,
)
from streams.kpi.merge import Merger, Scope
from streams.output.metrics import reported_windows
from streams.output.records import aggregate_record, scope_text, updated_at
from streams.targets.evaluate import TargetState
from streams.web.query import KpisQuery


def _wanted_scopes(cells: Iterable[Scope], query: KpisQuery) -> list[Scope]:
    """Scopes whose values can pass the filter: the matching ones, and the agents of
    every matching team (a team's agent averages are derived from its agents)."""
    cells = list(cells)
    wanted = [scope for scope in cells if query.keeps_scope(scope)]
    teams = {scope[0][1] for scope in wanted if len(scope) == 1}
    if teams:
        chosen = set(wanted)
        wanted += [
            s
            for s in cells
            if len(s) == 2 and s[0][0] == "agent" and s[1][1] in teams and s not in chosen
        ]
    return wanted


def kpi_records(merger: Merger, query: KpisQuery, now: datetime) -> list[dict[str, Any]]:
    """The current and previous windows' records, as the gauges report them."""
    clock = merger.clock
    updated = updated_at(now)
    out = []
    for period, label, window in reported_windows(merger):
        if (query.period is not None and period != query.period) or (
            query.window is not None and label != query.window
        ):
            continue
        cells = merger.windows.get(window)
        if not cells:
            continue
        start, end = clock.iso(window[1]), clock.iso(clock.end(*window))
        final = window in merger.finalized
        for value in merger.values(window, _wanted_scopes(cells, query)):
            if not (query.keeps(value.kpi, value.clock) and query.keeps_scope(value.scope)):
                continue
            _, record = aggregate_record(value, period, start, end, final, updated)
            out.append({**record, "window": label, "scope_key": scope_text(value.scope)})
    return out


def target_rows(states: Iterable[TargetState], merger: Merger) -> list[dict[str, Any]]:
    """One row per target and scope, in the target file's order."""
    clock = merger.clock
    rows = []
    for state in states:
        target = state.target
        start = end = None
        if state.window is not None:
            period, begin = state.window
            start, end = clock.iso(begin), clock.iso(clock.end(period, begin))
        row: dict[str, Any] = {
            "target": target.id,
            "kpi": target.kpi,
            "period": target.period,
            "clock": target.clock,
            "scope": dict(state.scope),
            "scope_key": scope_text(state.scope),
            "value": state.value,
            "target_value": target.value,
            "op": target.op,
            "severity": target.severity,
            "state": state.state,
            "window_start": start,
            "window_end": end,
        }
        for extra in ("expected", "volume"):  # later target states carry these
            if hasattr(state, extra):
                row[extra] = getattr(state, extra)
        rows.append(row)
    return rows


def certifications(merger: Merger) -> dict[str, Any]:
    """Certification currency as the gauges show it, at the global watermark."""
    if merger.global_watermark == float("-inf"):
        return {"as_of": None, "teams": [], "agents": []}
    now = merger.global_watermark
    counts = merger.certification_counts(now)
    names = list(CERTIFICATION_KPIS)
    teams = [
        {"team": team, names[0]: pair[0], names[1]: pair[1]}
        for team, pair in sorted(counts.items())
    ]
    agents = [
        {
            "team": team,
            "agent": agent,
            "certification": cert,
            "expires_at": expires,
            "expired": expires <= now,
        }
        for (team, agent, cert), expires in sorted(merger.certifications.items())
    ]
    return {"as_of": now, "teams": teams, "agents": agents}


def catalogue(merger: Merger, publisher: bool, refresh_ms: int) -> dict[str, Any]:
    """What the board needs to label and colour values, and the data's time."""
    kpis = [
        {
            "name": kpi.name,
            "kind": kpi.kind.value,
            "unit": kpi.unit,
            "description": kpi.description,
            "clocked": kpi.clocked,
            "higher_is_better": kpi.higher_is_better,
            "scopes": [kind.value for kind in kpi.scopes],
        }
        for kpi in KPIS
    ]
    watermark = merger.global_watermark
    return {
        "periods": list(PERIODS),
        "kpis": kpis,
        "agent_kpis": [
            {
                "name": k.name,
                "team_average": team_average_name(k.name),
                "ratio": to_team_name(k.name),
            }
            for k in AGENT_KPIS
        ],
        "watermark": None if watermark == float("-inf") else watermark,
        "watermark_iso": None if watermark == float("-inf") else merger.clock.iso(int(watermark)),
        "publisher": publisher,
        "refresh_ms": refresh_ms,
    }
