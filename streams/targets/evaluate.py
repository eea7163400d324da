"""Targets against the current windows: met or breached, and the transitions between."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

from streams.config import TargetConfig
from streams.kpi.catalogue import CERTIFICATION_KPIS, PERIODS, TEAM_AVERAGE_SUFFIX
from streams.kpi.merge import Merger, Scope

OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
}
NEGATED = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!="}


@dataclass(frozen=True, slots=True)
class TargetState:
    target: TargetConfig
    scope: Scope
    value: float
    breached: bool
    window: tuple[int, int] | None

    @property
    def state(self) -> str:
        """The state name shown on the board, the API and the breach records."""
        return "breached" if self.breached else "met"


class TargetBook:
    """The state of every (target, scope) in its current window, and the transitions.

    ``states`` holds what the current windows show (the gauges); ``last`` keeps
    each scope's last known state across windows, so a target breached last
    week and met in this week's first value gives one ``met`` transition.
    """

    def __init__(self, targets: list[TargetConfig]) -> None:
        self.targets = targets
        self.states: dict[tuple[str, Scope], TargetState] = {}
        self.last: dict[tuple[str, Scope], bool] = {}

    def evaluate(self, merger: Merger) -> list[TargetState]:
        """Re-evaluate every target; return the states that changed between met and breached."""
        fresh: dict[tuple[str, Scope], TargetState] = {}
        for target in self.targets:
            for scope, value, window in self._observe(target, merger):
                met = OPS[target.op](value, target.value)
                fresh[(target.id, scope)] = TargetState(target, scope, value, not met, window)
        changed = []
        for key, state in fresh.items():
            before = self.last.get(key)
            if (before is None and state.breached) or (
                before is not None and before != state.breached
            ):
                changed.append(state)
            self.last[key] = state.breached
        self.states = fresh
        return changed

    @staticmethod
    def _observe(
        target: TargetConfig, merger: Merger
    ) -> list[tuple[Scope, float, tuple[int, int] | None]]:
        if target.kpi in CERTIFICATION_KPIS:
            if merger.global_watermark == float("-inf"):
                return []
            counts = merger.certification_counts(merger.global_watermark)
            index = 0 if target.kpi == "certifications_expired" else 1
            return [
                ((("team", team),), float(c[index]), None)
                for team, c in counts.items()
                if target.matches({"team": team})
            ]
        window = merger.current(PERIODS.index(target.period))
        if window is None:
            return []
        cells = merger.windows.get(window, {})
        scopes = [s for s in cells if target.matches(dict(s))]
        if target.kpi.endswith(TEAM_AVERAGE_SUFFIX):
            teams = {dict(s)["team"] for s in scopes}
            scopes = [s for s in cells if len(s) == 2 and s[0][0] == "agent" and s[1][1] in teams]
        return [
            (v.scope, v.value, window)
            for v in merger.values(window, scopes)
            if v.kpi == target.kpi and v.clock == target.clock
        ]
