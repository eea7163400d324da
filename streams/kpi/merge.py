"""Stage two: merge the cell deltas of every source partition into scope aggregates.

Deltas arrive as written by stage one (finest cells of hour windows: team,
channel, queue, agent) and are rolled up into the hour's day, week and month
windows and into every scope the event counts in. A window is final once every
windowed source partition's watermark passes its end plus grace; its records
are then published once with ``final: true``, and later deltas for it are
ignored (each period on its own: an hour cell still counts in its open day).
"""

from __future__ import annotations

import math
from array import array
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from streams.kpi.catalogue import (
    AGENT_KPIS,
    PERIODS,
    SCOPE_LABELS,
    ScopeKind,
    team_average_name,
    to_team_name,
)
from streams.kpi.covered import CoveredOffsets
from streams.kpi.derive import derive
from streams.kpi.measures import Delta, Measures, delta_of, from_names, merge_delta
from streams.kpi.shifts import ShiftBook
from streams.kpi.windows import WindowClock

Scope = tuple[tuple[str, str], ...]
Window = tuple[int, int]
NEG_INF = float("-inf")
_KIND_BY_LABELS = {tuple(sorted(labels)): kind for kind, labels in SCOPE_LABELS.items()}
"""Scope labels, sorted by name as scopes hold them -> scope kind (from the catalogue)."""
_AGENT_KPI_NAMES = {kpi.name for kpi in AGENT_KPIS}


def scope_kind(scope: Scope) -> ScopeKind:
    return _KIND_BY_LABELS[tuple(name for name, _ in scope)]


def scopes_of(team: str, channel: str, queue: str | None, agent: str | None) -> list[Scope]:
    """Every scope a finest cell rolls up into (labels sorted by name)."""
    out: list[Scope] = [(), (("team", team),), (("channel", channel), ("team", team))]
    if queue is not None:
        out.append((("queue", queue), ("team", team)))
    if agent is not None:
        out.append((("agent", agent), ("team", team)))
    return out


@dataclass(frozen=True, slots=True)
class KpiValue:
    """One published KPI value of one window and scope."""

    kpi: str
    clock: str | None
    scope: Scope
    value: float
    numerator: float | None
    denominator: float | None


class Merger:
    """Scope aggregates of every open window, merged over all source partitions."""

    def __init__(self, clock: WindowClock, grace: float, windowed_sources: Iterable[str]) -> None:
        self.clock = clock
        self.grace = grace
        self.watermarks: dict[str, float] = {tp: NEG_INF for tp in windowed_sources}
        self.global_watermark = NEG_INF
        self.windows: dict[Window, dict[Scope, Measures]] = {}
        self.dirty: dict[Window, set[Scope]] = defaultdict(set)
        self.finalized: set[Window] = set()
        self.certifications: dict[tuple[str, str, str], float] = {}
        self.shifts = ShiftBook()
        """Staffed intervals per agent (``agent.shift``), for targets' pace."""
        self.covered = CoveredOffsets()
        """The input offsets of the partials merged: a partial written twice (a producer
        resending a record the broker had already appended) is merged once."""
        self._scopes: dict[Scope, Scope] = {}
        """One instance of each scope, so the cells of every window share their keys."""
        self._scopes_floor = 1024

    def apply(self, source: str, header: dict[str, Any]) -> bool:
        """Merge one stage-one batch record of ``source`` (``topic:partition``).

        Returns False, merging nothing, for a repeat: a record whose ``input`` offsets
        ``[first, next)`` were all merged already. Stage one folds each input offset
        once, so only a resent copy covers offsets merged before. Records without
        ``input`` (written before it existed, or by the history fold) always merge.
        """
        span = header.get("input")
        if span is not None and not self.covered.add(source, span[0], span[1]):
            return False
        watermark = header["watermark"]
        if watermark is not None:
            if source in self.watermarks:
                self.watermarks[source] = max(self.watermarks[source], watermark)
            self.global_watermark = max(self.global_watermark, watermark)
        starts = self.clock.starts
        finalized = self.finalized
        for hour, team, channel, queue, agent, values in header.get("hours", ()):
            windows = [w for w in enumerate(starts(hour)) if w not in finalized]
            if windows:
                delta = array("q", values)
                scopes = self._scopes_of(team, channel, queue, agent)
                prepared = delta_of(delta)
                for window in windows:
                    self._merge(window, scopes, delta, prepared)
        # Records written before hour-only partials: one cell per period, measures by name.
        for period, start, team, channel, queue, agent, measures in header.get("cells", ()):
            window = (period, start)
            if window not in finalized:
                scopes = self._scopes_of(team, channel, queue, agent)
                cell = from_names(measures)
                self._merge(window, scopes, cell, delta_of(cell))
        for team, agent, certification, expires in header["certs"]:
            key = (team, agent, certification)
            if expires > self.certifications.get(key, NEG_INF):
                self.certifications[key] = expires
        for team, agent, start, end in header.get("shifts", ()):
            self.shifts.add(team, agent, start, end)
        return True

    def input_logs_restarted(self) -> None:
        """The input logs start again from offset 0 (the broker lost its data): forget
        the offsets merged so far, keep the aggregates."""
        self.covered.clear()

    def clear(self) -> None:
        """Forget every window, watermark and certification (scope keys stay interned)."""
        self.watermarks = dict.fromkeys(self.watermarks, NEG_INF)
        self.global_watermark = NEG_INF
        self.windows = {}
        self.dirty.clear()
        self.finalized = set()
        self.certifications = {}
        self.shifts = ShiftBook()
        self.covered.clear()

    def put_window(self, window: Window, cells: Iterable[tuple[Scope, Measures]]) -> None:
        """Set a window's cells (a snapshot's); an open window's are all to be published."""
        known = self._scopes
        loaded = self.windows[window] = {known.setdefault(s, s): cell for s, cell in cells}
        if window not in self.finalized:
            self.dirty[window] = set(loaded)

    def _scopes_of(
        self, team: str, channel: str, queue: str | None, agent: str | None
    ) -> list[Scope]:
        known = self._scopes
        return [known.setdefault(s, s) for s in scopes_of(team, channel, queue, agent)]

    def _merge(self, window: Window, scopes: list[Scope], delta: Measures, prepared: Delta) -> None:
        """Add one cell (and its :func:`delta_of`, prepared once for every window it
        rolls up into) to the cells of ``scopes`` in ``window``."""
        cells = self.windows.get(window)
        if cells is None:
            cells = self.windows[window] = {}
        dirty = self.dirty[window]
        for scope in scopes:
            cell = cells.get(scope)
            if cell is None:
                cells[scope] = array("q", delta)
            else:
                merge_delta(cell, prepared)
            dirty.add(scope)

    @property
    def low_watermark(self) -> float:
        """The smallest watermark of the windowed sources: what finality waits for."""
        return min(self.watermarks.values(), default=NEG_INF)

    def due_finals(self) -> list[Window]:
        """Windows that became final and were not published final yet, oldest first."""
        low = self.low_watermark
        return sorted(
            w
            for w in self.windows
            if w not in self.finalized and self.clock.end(*w) + self.grace <= low
        )

    def current(self, period: int) -> Window | None:
        """The window holding the global watermark."""
        if self.global_watermark == NEG_INF:
            return None
        return (period, self.clock.starts(self.global_watermark)[period])

    def previous(self, period: int) -> Window | None:
        now = self.current(period)
        return None if now is None else (period, self.clock.previous(period, now[1]))

    def values(self, window: Window, scopes: Iterable[Scope] | None = None) -> Iterator[KpiValue]:
        """KPI values of a window (of the given scopes, or all), agent-beside-team included."""
        cells = self.windows.get(window, {})
        wanted = cells.keys() if scopes is None else scopes
        teams: set[str] = set()
        for scope in wanted:
            measures = cells.get(scope)
            if measures is None:
                continue
            kind = scope_kind(scope)
            if kind is ScopeKind.AGENT:
                teams.add(scope[1][1])
            for name, clock, value in derive(kind, measures):
                yield KpiValue(name, clock, scope, *value)
        if teams:
            yield from self._beside_team(cells, teams)

    def _beside_team(self, cells: dict[Scope, Measures], teams: set[str]) -> Iterator[KpiValue]:
        per_agent: dict[tuple[str, str, str | None], list[tuple[Scope, float]]] = defaultdict(list)
        for scope, measures in cells.items():
            if len(scope) != 2 or scope[0][0] != "agent" or scope[1][1] not in teams:
                continue
            for name, clock, value in derive(ScopeKind.AGENT, measures):
                if name in _AGENT_KPI_NAMES:
                    per_agent[(scope[1][1], name, clock)].append((scope, value[0]))
        for (team, name, clock), agents in per_agent.items():
            average = math.fsum(v for _, v in agents) / len(agents)
            yield KpiValue(team_average_name(name), clock, (("team", team),), average, None, None)
            if average == 0:
                continue
            for scope, agent_value in agents:
                ratio = agent_value / average
                yield KpiValue(to_team_name(name), clock, scope, ratio, None, None)

    def take_dirty(self) -> dict[Window, set[Scope]]:
        dirty, self.dirty = self.dirty, defaultdict(set)
        return {w: s for w, s in dirty.items() if w not in self.finalized and s}

    def mark_final(self, window: Window) -> None:
        """Record that a window's final records were published; drop its state when old."""
        self.finalized.add(window)
        self.dirty.pop(window, None)
        self.evict()

    def evict(self) -> None:
        """Forget final windows older than the previous one (the gauges need no more)."""
        keep = {self.current(p) for p in range(len(PERIODS))}
        keep |= {self.previous(p) for p in range(len(PERIODS))}
        for window in [w for w in self.windows if w in self.finalized and w not in keep]:
            del self.windows[window]
        if self.windows:
            self.shifts.evict(min(start for _, start in self.windows))
        if len(self._scopes) > 2 * self._scopes_floor:
            # Forget scopes no window holds any more (agents and queues come and go).
            self._scopes = {s: s for cells in self.windows.values() for s in cells}
            self._scopes_floor = max(1024, len(self._scopes))

    def certification_counts(self, now: float) -> dict[str, tuple[int, int]]:
        """Per team: (expired, expiring within 30 days) relative to ``now``."""
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for (team, _agent, _cert), expires in self.certifications.items():
            entry = counts[team]
            if expires <= now:
                entry[0] += 1
            elif expires <= now + 30 * 86400:
                entry[1] += 1
        return {team: (c[0], c[1]) for team, c in counts.items()}
