"""PromQL building blocks shared by the alert rules and the dashboards.

A threshold is defined once, in the targets file; the rule that alerts on it
and the dashboard panel that shows it take both the series selector and the
number from here, so they cannot drift apart.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from streams.config import SCOPE_NAMES, TargetConfig
from streams.kpi.catalogue import CERTIFICATION_KPIS, KPI_BY_NAME

NEGATED_OP: dict[str, str] = {"<=": ">", "<": ">=", ">=": "<", ">": "<=", "==": "!="}
"""The comparison that holds exactly when a target's own comparison does not."""

HIGHER_IS_MET: dict[str, bool] = {"<=": False, "<": False, ">=": True, ">": True, "==": True}


def format_number(value: float) -> str:
    """A float as PromQL (and Grafana) write it: ``0.03``, ``1200``, never ``1200.0``."""
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def matcher(name: str, value: str) -> str:
    """One label matcher: ``"*"`` means any non-empty value, anything else is exact."""
    if value == "*":
        return f'{name}!=""'
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{name}="{escaped}"'


def selector(metric: str, matchers: Iterable[str]) -> str:
    return f"{metric}{{{','.join(matchers)}}}"


def target_metric(target: TargetConfig) -> str:
    """The gauge a target watches: ``cc_<kpi>``."""
    return f"cc_{target.kpi}"


def is_windowed(target: TargetConfig) -> bool:
    """Certification gauges carry no period or window; every other target KPI does."""
    return target.kpi not in CERTIFICATION_KPIS


def target_matchers(target: TargetConfig, window: str = "current") -> list[str]:
    """Matchers that select exactly the scope, period, window and clock a target watches.

    Scope labels are present only where the scope has them, so a label the
    target's scope lacks is matched as empty: a team target must not pick up
    the same team's channel, queue or agent series.
    """
    matchers: list[str] = []
    if is_windowed(target):
        matchers += [matcher("period", target.period), matcher("window", window)]
    labels = set(target.scope_labels)
    for name in SCOPE_NAMES:
        if name in target.scope:
            matchers.append(matcher(name, target.scope[name]))
        elif name in labels:
            matchers.append(matcher(name, "*"))
        elif is_windowed(target):
            matchers.append(f'{name}=""')
    if target.clock is not None:
        matchers.append(matcher("clock", target.clock))
    return matchers


def target_selector(target: TargetConfig, window: str = "current") -> str:
    """The series of the KPI a target judges, e.g. ``cc_abandon_ratio{period="week",...}``."""
    return selector(target_metric(target), target_matchers(target, window))


def breach_expr(target: TargetConfig) -> str:
    """PromQL that returns the series breaching the target (the negated comparison)."""
    return f"{target_selector(target)} {NEGATED_OP[target.op]} {format_number(target.value)}"


def target_unit(target: TargetConfig) -> str:
    """Grafana unit of a target's KPI (team averages share their KPI's unit)."""
    name = target.kpi.removesuffix("_team_agent_average")
    kpi = KPI_BY_NAME.get(name)
    return kpi.unit if kpi is not None else "short"


def describe_target(target: TargetConfig) -> str:
    """One line such as ``abandon_ratio <= 0.03 per week (team support)``."""
    text = f"{target.kpi} {target.op} {format_number(target.value)}"
    if is_windowed(target):
        text += f" per {target.period}"
    if target.clock is not None:
        text += f", {target.clock} clock"
    if target.scope:
        scope = ", ".join(
            f"every {name}" if value == "*" else f"{name} {value}"
            for name, value in target.scope.items()
        )
        text += f" ({scope})"
    else:
        text += " (whole centre)"
    return text


def state_selector(target: TargetConfig, window: str, state: str) -> str:
    """The worker's own judgement: ``cc_target_state{target=...,window=...,state=...}``."""
    matchers = [matcher("target", target.id), matcher("window", window), matcher("state", state)]
    return selector("cc_target_state", matchers)


def state_expr(target: TargetConfig, window: str, state: str) -> str:
    """The KPI series of the scopes the worker judges to be in ``state`` in ``window``.

    The rule returns the KPI's own series (so ``$value`` is the value and the labels
    are the scope's), kept where ``cc_target_state`` says so: pace and minimum volume
    need the worker's expected value and volume, which no KPI gauge carries.
    """
    on = ", ".join(SCOPE_NAMES)
    kpi = target_selector(target, window)
    return f"{kpi} and on({on}) ({state_selector(target, window, state)} == 1)"


def verdict_expr(target: TargetConfig, state: str) -> str:
    """The previous window's KPI series of the scopes whose verdict is ``state``, with the
    verdict's ``window_start`` label: each window's miss is an alert of its own (one
    notification), not the continuation of the last one."""
    on = ", ".join(SCOPE_NAMES)
    kpi = target_selector(target, "previous")
    verdict = state_selector(target, "previous", state)
    return f"{kpi} * on({on}) group_left(window_start) ({verdict} == 1)"
