"""Targets against the merged windows: the state of every target and scope, its
transitions while the window is open, and one verdict per window when it closes.

The judging itself is :mod:`streams.targets.states` (pure) and the elapsed share
:mod:`streams.targets.pace`; this module reads values, volumes, calendars and
shifts from the merger and keeps what changed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from streams.config import TargetConfig
from streams.kpi.business_hours import BusinessCalendar
from streams.kpi.catalogue import CERTIFICATION_KPIS, PERIODS, TEAM_AVERAGE_SUFFIX
from streams.kpi.derive import FORMULAS
from streams.kpi.merge import KpiValue, Merger, Scope, Window
from streams.targets.pace import NO_PACE, Pace, pace
from streams.targets.states import (
    BAD,
    BREACHED,
    MET,
    MISSED,
    OPS,
    STATES,
    is_volume_goal,
    judge_close,
    judge_open,
)

__all__ = ["OPS", "STATES", "TargetBook", "TargetState"]
NEGATED = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!="}
Key = tuple[str, Scope]


@dataclass(frozen=True, slots=True)
class TargetState:
    """One target at one scope: in its current window, or its verdict (``final``)."""

    target: TargetConfig
    scope: Scope
    value: float
    state: str
    """One of ``met``, ``breached``, ``on_pace``, ``behind_pace``, ``insufficient_data``,
    ``missed`` (the contract's names, shown as such on the board and in records)."""
    window: Window | None
    expected: float | None = None
    """Volume goals: the pace value now (open) or the goal for the window (verdict)."""
    volume: float | None = None
    """The KPI's denominator (contacts, responses, samples); None for counts and gauges."""
    final: bool = False
    share: float | None = None
    """Elapsed share of the window (0..1) at the watermark, for volume goals."""

    @property
    def breached(self) -> bool:
        """True while a cap or ratio is on the wrong side with enough volume, or a verdict
        is ``missed``; a volume goal behind pace is not breached (yet)."""
        return self.state in (BREACHED, MISSED)


class TargetBook:
    """The state of every (target, scope) in its current window, and the transitions.

    ``states`` holds what the current windows show (the gauges); ``last`` keeps
    each scope's last known state across windows, so a target breached last
    week and met in this week's first value gives one ``met`` transition.
    ``verdicts`` holds each scope's latest verdict (the gauges' previous window).
    """

    def __init__(
        self,
        targets: list[TargetConfig],
        calendar: Callable[[str], BusinessCalendar] | None = None,
    ) -> None:
        self.targets = targets
        self.calendar = calendar
        self.states: dict[Key, TargetState] = {}
        self.last: dict[Key, str] = {}
        self.verdicts: dict[Key, TargetState] = {}
        self._judged: set[tuple[str, Window]] = set()
        self._paces: dict[tuple[float, str | None, Window, float], Pace] = {}
        """The pace of a goal by team, window and instant: every agent without shifts of a
        team shares it (thousands of agents, one business-hours computation)."""

    def evaluate(self, merger: Merger) -> list[TargetState]:
        """Re-evaluate every target; return the states that changed."""
        fresh: dict[Key, TargetState] = {}
        now = merger.global_watermark
        self._paces.clear()
        for target in self.targets:
            for state in self._open_states(target, merger, now):
                fresh[(target.id, state.scope)] = state
        changed = []
        for key, state in fresh.items():
            before = self.last.get(key)
            if (before is None and state.state in BAD) or (
                before is not None and before != state.state
            ):
                changed.append(state)
            self.last[key] = state.state
        self.states = fresh
        self._recall(merger)
        return changed

    def close(self, merger: Merger, window: Window) -> list[TargetState]:
        """The verdicts of every target of ``window``'s period on its final values.

        Call it once, as the window becomes final (the publisher does so right
        before it marks the window final, so a restarted publisher does not
        judge it again).
        """
        out = []
        for target in self.targets:
            if target.kpi in CERTIFICATION_KPIS or PERIODS.index(target.period) != window[0]:
                continue
            out += self._verdicts(target, merger, window)
        return out

    def summary(self) -> Counter[str]:
        """How many (target, scope) are in each state now."""
        return Counter(state.state for state in self.states.values())

    def _recall(self, merger: Merger) -> None:
        """Verdicts of final windows still held that this book has not judged (after a
        restart the previous windows' verdicts come back without being published again)."""
        for target in self.targets:
            if target.kpi in CERTIFICATION_KPIS:
                continue
            window = merger.previous(PERIODS.index(target.period))
            if window is None or (target.id, window) in self._judged:
                continue
            if window in merger.finalized and window in merger.windows:
                self._verdicts(target, merger, window)

    def _verdicts(self, target: TargetConfig, merger: Merger, window: Window) -> list[TargetState]:
        self._judged.add((target.id, window))
        self._judged = {j for j in self._judged if j[0] != target.id or j[1][1] >= window[1]}
        for key in [k for k, v in self.verdicts.items() if k[0] == target.id]:
            if self.verdicts[key].window != window:
                del self.verdicts[key]
        end = merger.clock.end(*window)
        out = []
        for value in self._values(target, merger, window):
            judged = self._pace(target, merger, window, end, value.scope, end)
            volume = _volume(target, value)
            verdict = judge_close(target, value.value, volume, judged.goal)
            state = TargetState(
                target,
                value.scope,
                value.value,
                verdict,
                window,
                expected=judged.goal if is_volume_goal(target) else None,
                volume=volume,
                final=True,
                share=judged.share,
            )
            self.verdicts[(target.id, value.scope)] = state
            out.append(state)
        return out

    def _open_states(self, target: TargetConfig, merger: Merger, now: float) -> list[TargetState]:
        if target.kpi in CERTIFICATION_KPIS:
            if now == float("-inf"):
                return []
            counts = merger.certification_counts(now)
            index = 0 if target.kpi == "certifications_expired" else 1
            out = []
            for team, c in counts.items():
                if target.matches({"team": team}):
                    count = float(c[index])
                    state = MET if OPS[target.op](count, target.value) else BREACHED
                    out.append(TargetState(target, (("team", team),), count, state, None))
            return out
        window = merger.current(PERIODS.index(target.period))
        if window is None:
            return []
        out = []
        end = merger.clock.end(*window)
        for value in self._values(target, merger, window):
            judged = self._pace(target, merger, window, end, value.scope, now)
            volume = _volume(target, value)
            state = judge_open(target, value.value, volume, judged.expected)
            out.append(
                TargetState(
                    target,
                    value.scope,
                    value.value,
                    state,
                    window,
                    expected=judged.expected,
                    volume=volume,
                    share=judged.share,
                )
            )
        return out

    def _pace(
        self,
        target: TargetConfig,
        merger: Merger,
        window: Window,
        end: float,
        scope: Scope,
        now: float,
    ) -> Pace:
        if not is_volume_goal(target):
            return NO_PACE
        start = window[1]
        labels = dict(scope)
        team = labels.get("team")
        calendar = self.calendar(team) if team is not None and self.calendar else None
        staffed = None
        agent = labels.get("agent")
        if team is not None and agent is not None:
            shifts = merger.shifts
            if shifts.staffed(team, agent, start, end):
                staffed = _staffed(shifts.staffed, team, agent)
                return pace(target.value, start, end, now, calendar, staffed)
        key = (target.value, team, window, now)
        found = self._paces.get(key)
        if found is None:
            found = self._paces[key] = pace(target.value, start, end, now, calendar)
        return found

    @staticmethod
    def _values(target: TargetConfig, merger: Merger, window: Window) -> list[KpiValue]:
        cells = merger.windows.get(window, {})
        names = target.scope_labels
        scopes = [
            s
            for s in cells
            if len(s) == len(names)
            and all(a[0] == b for a, b in zip(s, names, strict=True))
            and target.matches(dict(s))
        ]
        formula = FORMULAS.get((target.kpi, target.clock))
        if formula is not None:
            # The engine's own formula of this one KPI: what merger.values would give
            # for it, without deriving every other KPI and the agent-beside-team values.
            out = []
            for scope in scopes:
                value = formula(cells[scope])
                if value is not None:
                    out.append(KpiValue(target.kpi, target.clock, scope, *value))
            return out
        if target.kpi.endswith(TEAM_AVERAGE_SUFFIX):
            teams = {dict(s)["team"] for s in scopes}
            scopes = [s for s in cells if len(s) == 2 and s[0][0] == "agent" and s[1][1] in teams]
        return [
            v
            for v in merger.values(window, scopes)
            if v.kpi == target.kpi and v.clock == target.clock
        ]


def _volume(target: TargetConfig, value: KpiValue) -> float | None:
    """The KPI's denominator: contacts, responses or samples (None for counts and gauges)."""
    if is_volume_goal(target):
        return None
    return value.denominator


def _staffed(
    staffed: Callable[[str, str, float, float], float | None], team: str, agent: str
) -> Callable[[float, float], float]:
    return lambda lo, hi: staffed(team, agent, lo, hi) or 0.0
