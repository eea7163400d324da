"""The state of a target, judged fairly (CONTRACT.md v1.2, "Targets judged fairly").

Pure functions of numbers: no merger, no clock. :mod:`streams.targets.pace`
says how much of a window has elapsed; :mod:`streams.targets.evaluate` reads
the values and volumes from the merger and calls these.

- A volume goal (``>=`` or ``>`` on a count KPI, e.g. 1200 tickets a month) is
  judged on pace while its window is open: ``on_pace`` when the value is at
  least the expected share of the target less the tolerance, else ``behind_pace``;
  ``met`` once the target itself is reached.
- Every other goal (``<=`` caps, ratios, means) is ``met`` or ``breached``
  while open; a ratio or mean whose volume (its denominator) is below the
  minimum is ``insufficient_data``.
- At close, one verdict on the final value: ``met``, ``missed`` or
  ``insufficient_data``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable

from streams.config import TargetConfig
from streams.kpi.catalogue import KPI_BY_NAME, Kind

MET = "met"
BREACHED = "breached"
ON_PACE = "on_pace"
BEHIND_PACE = "behind_pace"
INSUFFICIENT_DATA = "insufficient_data"
MISSED = "missed"
STATES = (MET, BREACHED, ON_PACE, BEHIND_PACE, INSUFFICIENT_DATA, MISSED)
OPEN_VOLUME_STATES = (MET, ON_PACE, BEHIND_PACE)
OPEN_OTHER_STATES = (MET, BREACHED, INSUFFICIENT_DATA)
VERDICTS = (MET, MISSED, INSUFFICIENT_DATA)
BAD = frozenset({BREACHED, BEHIND_PACE, MISSED})
"""The states an alert fires on (a first sight of one of them is a transition)."""

OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
}
DEFAULT_PACE_TOLERANCE = 0.1

DEFAULT_MIN_VOLUME: dict[str, float] = {
    # contact KPIs: contacts in the denominator
    "service_level_ratio": 20,
    "abandon_ratio": 20,
    "average_speed_of_answer_seconds": 20,
    "average_handle_time_seconds": 20,
    "first_contact_resolution_ratio": 20,
    # survey and quality KPIs: responses, evaluations
    "nps_score": 10,
    "csat_ratio": 10,
    "quality_score": 10,
    # reply and resolution times: samples; reopens per solved ticket likewise
    "first_reply_seconds": 5,
    "next_reply_seconds": 5,
    "resolution_seconds": 5,
    "reopen_ratio": 5,
}
"""Default minimum volume per KPI (CONTRACT.md v1.2). Counts need none (a cap can be
passed early, a volume goal is judged on pace); the maximum wait, team averages and
certification gauges carry no denominator and are judged on any value."""


def is_volume_goal(target: TargetConfig) -> bool:
    """``>=`` (or ``>``) on a count KPI: a goal to reach by the window's end."""
    kpi = KPI_BY_NAME.get(target.kpi)
    return kpi is not None and kpi.kind is Kind.COUNT and target.op in (">=", ">")


def min_volume(target: TargetConfig) -> float:
    """The target's own minimum volume, else its KPI's default (0: none)."""
    if target.min_volume is not None:
        return target.min_volume
    return float(DEFAULT_MIN_VOLUME.get(target.kpi, 0.0))


def tolerance(target: TargetConfig) -> float:
    return DEFAULT_PACE_TOLERANCE if target.pace_tolerance is None else target.pace_tolerance


def expected(target_value: float, share: float) -> float:
    """The pace value: the target times the elapsed share of the window (0..1)."""
    return target_value * min(1.0, max(0.0, share))


def pace_floor(target: TargetConfig, expected_now: float) -> float:
    """The least value that is on pace: the pace less the tolerance (CONTRACT.md v1.2:
    ``on_pace`` when value >= expected x (1 - tolerance)). Not rounded: the contract
    pins the comparison, and the alert rules' ``for:`` keeps a first ticket that is a
    few minutes late from paging anyone."""
    return expected_now * (1 - tolerance(target))


def judge_open(
    target: TargetConfig, value: float, volume: float | None, expected_now: float | None
) -> str:
    """The state while the window is open.

    ``expected_now`` is the pace value of a volume goal (None where the window
    holds no business time for the scope yet to measure a pace by: then nobody
    is behind); ``volume`` the KPI's denominator (None where it has none).
    """
    met = OPS[target.op](value, target.value)
    if is_volume_goal(target):
        if met:
            return MET
        if expected_now is None or value >= pace_floor(target, expected_now):
            return ON_PACE
        return BEHIND_PACE
    if volume is not None and volume < min_volume(target):
        return INSUFFICIENT_DATA
    return MET if met else BREACHED


def judge_close(
    target: TargetConfig, value: float, volume: float | None, goal: float | None
) -> str:
    """The verdict on a window's final value.

    ``goal`` is what a volume goal asks of this scope by the window's end (the
    target, pro-rated by staffed time for an agent with shifts; None where the
    window held no business time for the scope: no verdict can be fair).
    """
    if is_volume_goal(target):
        if goal is None:
            return INSUFFICIENT_DATA
        return MET if OPS[target.op](value, goal) else MISSED
    if volume is not None and volume < min_volume(target):
        return INSUFFICIENT_DATA
    return MET if OPS[target.op](value, target.value) else MISSED
